package station

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"giascan/station/audit"
	"giascan/station/packaging"
)

// MediaRoots are the folders under which the system mounts removable
// media (udisks: /media/USER/LABEL, /run/media/USER/LABEL; by hand: /mnt).
var MediaRoots = []string{"/media", "/run/media", "/mnt"}

// Medium is a mounted removable medium an export can go to.
type Medium struct {
	Path  string // its mount point
	Label string // what to call it on screen: the folder's name
	Free  int64  // bytes free, -1 when unknown
}

// Media lists the removable media mounted under MediaRoots: the mount
// points of /proc/self/mountinfo below them, or, where nothing is mounted
// there (a test, a folder an administrator made), their folders one and
// two levels down.
func (s *Station) Media() []Medium {
	seen := map[string]bool{}
	var out []Medium
	add := func(p string) {
		if seen[p] {
			return
		}
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			return
		}
		seen[p] = true
		out = append(out, Medium{Path: p, Label: filepath.Base(p), Free: freeBytes(p)})
	}
	for _, m := range mountPoints() {
		for _, root := range MediaRoots {
			if strings.HasPrefix(m, root+"/") {
				add(m)
			}
		}
	}
	if len(out) == 0 {
		for _, root := range MediaRoots {
			for _, pat := range []string{"*", "*/*"} {
				list, _ := filepath.Glob(filepath.Join(root, pat))
				for _, p := range list {
					add(p)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// mountPoints reads the mount points of this process's namespace.
func mountPoints() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 {
			// Octal escapes stand for spaces and the like in labels.
			out = append(out, strings.NewReplacer(`\040`, " ", `\011`, "\t", `\134`, `\`).Replace(fields[4]))
		}
	}
	return out
}

// Export writes the newest sealed packages of a ППЭ to the folder to on a
// removable medium, reads them back against SHA256SUMS, and logs it.
// m is the medium's file operations, packaging.OSMedium when nil.
func (s *Station) Export(actor, ppe, to string, m packaging.Medium) (*packaging.Exported, error) {
	if !fourDigits(ppe) {
		return nil, refuse("код ППЭ", "код ППЭ %q: нужны 4 цифры", ppe)
	}
	if strings.TrimSpace(to) == "" {
		return nil, refuse("носитель", "носитель не выбран: вставьте флешку или диск и выберите его")
	}
	out, err := packaging.Export(string(s.Dir), ppe, to, m)
	if err != nil {
		return nil, err
	}
	if _, err := s.Log.Append(audit.Event{Actor: actor, Action: audit.ActionPackageExport,
		Subject: audit.Subject{PPE: ppe}, After: jsonOf(map[string]any{"dir": out.Dir, "files": out.Files, "bytes": out.Bytes})}); err != nil {
		return out, fmt.Errorf("пакеты выгружены в %s, но журнал аудита не пишется: %w", out.Dir, err)
	}
	return out, nil
}

func fourDigits(s string) bool {
	if len(s) != 4 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
