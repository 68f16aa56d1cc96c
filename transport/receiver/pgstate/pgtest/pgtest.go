// Package pgtest starts a throwaway PostgreSQL cluster for a test, from
// Debian's postgresql package (`make deps` installs it), on 127.0.0.1 and
// a free port, and removes it when the test ends. As root it runs the
// server as the postgres user, since PostgreSQL refuses to run as root.
package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
)

// binDir finds the newest installed PostgreSQL's programs.
func binDir() string {
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Strings(found)
	if len(found) == 0 {
		return ""
	}
	return filepath.Dir(found[len(found)-1])
}

// stopOrphans stops and removes the clusters of test processes that no
// longer run.
func stopOrphans(bin string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "giascan-pg-*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner"))
		pid, perr := strconv.Atoi(string(b))
		if err != nil || perr != nil || syscall.Kill(pid, 0) == nil {
			continue
		}
		args := []string{filepath.Join(bin, "pg_ctl"), "-D", filepath.Join(dir, "data"), "-m", "immediate", "-w", "stop"}
		if os.Geteuid() == 0 {
			args = append([]string{"runuser", "-u", "postgres", "--"}, args...)
		}
		exec.Command(args[0], args[1:]...).Run()
		os.RemoveAll(dir)
	}
}

// freePort asks the kernel for a free loopback port.
func freePort(tb testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start starts a cluster and returns its URL; the test is skipped where
// PostgreSQL is not installed.
func Start(tb testing.TB) string {
	tb.Helper()
	bin := binDir()
	if bin == "" {
		tb.Skip("PostgreSQL test skipped: no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)")
	}
	stopOrphans(bin)
	dir, err := os.MkdirTemp("", "giascan-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	// Whose cluster this is: a later Start stops it if this test process
	// was killed before its cleanup ran.
	os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	var prefix []string
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			tb.Skip("PostgreSQL test skipped: running as root and there is no postgres user to run the server as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			tb.Fatal(err)
		}
		prefix = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(args ...string) error {
		args = append(append([]string{}, prefix...), args...)
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", filepath.Base(args[len(prefix)]), err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run(filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "giascan", "-E", "UTF8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		tb.Fatal(err)
	}
	port := freePort(tb)
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=200", port, dir)
	if err := run(filepath.Join(bin, "pg_ctl"), "-D", data, "-w", "-l", filepath.Join(dir, "log"), "-o", opts, "start"); err != nil {
		os.RemoveAll(dir)
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := run(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"); err != nil {
			tb.Error(err)
		}
		os.RemoveAll(dir)
	})
	return fmt.Sprintf("postgres://giascan@127.0.0.1:%d/postgres?sslmode=disable", port)
}
