package attach

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"time"
)

// The kinds of problem an import reports.
const (
	ProblemMissing    = "missing"    // a planned kit has no file
	ProblemExtra      = "extra"      // a file of a kit not planned for the auditorium
	ProblemEmpty      = "empty"      // a file of zero bytes
	ProblemUnreadable = "unreadable" // a file that could not be read
	ProblemNotAudio   = "not_audio"  // an audio file that is not WAV or MP3, or is damaged
	ProblemBadName    = "bad_name"   // a file whose name does not start with a kit number
	ProblemTooBig     = "too_big"    // a file over MaxFileSize
	ProblemDuplicate  = "duplicate"  // a second file of one kit in one import
)

// Problem is one thing an import found wrong, with the Russian sentence
// that says what it is and what to do.
type Problem struct {
	Kind string `json:"kind"`
	Kit  string `json:"kit,omitempty"`
	File string `json:"file,omitempty"`
	Text string `json:"text"`
}

// Plan is what the exam file plans for an auditorium.
type Plan struct {
	PPE, Auditorium string
	// Kits are the kit numbers planned; when there are none, every kit is
	// taken and none is reported missing.
	Kits []string
}

// Report is the result of an import: the files taken and the problems.
type Report struct {
	Kind     string    `json:"kind"`
	Imported []File    `json:"imported"`
	Problems []Problem `json:"problems"`
	// Planned is how many kits the auditorium plans; Present how many of
	// them have a file of this kind after the import.
	Planned int `json:"planned"`
	Present int `json:"present"`
	// Seconds is the total duration of the auditorium's audio after the
	// import.
	Seconds float64 `json:"duration_seconds,omitempty"`
}

// Count returns how many problems of a kind the report has.
func (r *Report) Count(kind string) int {
	n := 0
	for _, p := range r.Problems {
		if p.Kind == kind {
			n++
		}
	}
	return n
}

// Stage copies the good files of src into the folder, checked one by
// one: a bad file is reported and skipped, and the others go on. The
// files are not yet in the index: Commit puts them there. An error is
// returned only when the data folder cannot be written; the files stored
// by this import until then are removed.
func (d Folder) Stage(ctx context.Context, kind string, plan Plan, src *Source, by string, now time.Time) (rep *Report, err error) {
	rep = &Report{Kind: kind, Imported: []File{}, Problems: []Problem{}, Planned: len(plan.Kits)}
	defer func() {
		if err != nil {
			// The copies of this import go too: on a full disk they would
			// only hold the space the next try needs.
			for _, f := range rep.Imported {
				os.Remove(d.Path(f))
			}
			rep.Imported = []File{}
		}
	}()
	seen := map[string]string{}
	for _, e := range src.Entries {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		base := path.Base(e.Name)
		kit := KitOf(base)
		problem := func(k, format string, a ...any) {
			rep.Problems = append(rep.Problems, Problem{Kind: k, Kit: kit, File: e.Name, Text: fmt.Sprintf(format, a...)})
		}
		switch {
		case kit == "":
			problem(ProblemBadName, "Файл %s не принят: его имя не начинается с номера комплекта участника (10 цифр); переименуйте файл по номеру комплекта и загрузите его снова.", e.Name)
			continue
		case len(plan.Kits) > 0 && !slices.Contains(plan.Kits, kit):
			problem(ProblemExtra, "Файл %s не принят: комплект %s не распределён в аудиторию %s ППЭ %s; проверьте, из этой ли аудитории файл, и загрузите его в свою аудиторию.", e.Name, kit, plan.Auditorium, plan.PPE)
			continue
		case seen[kit] != "":
			problem(ProblemDuplicate, "Файл %s не принят: для комплекта %s в этой загрузке уже есть файл %s; оставьте один файл на участника и загрузите его снова.", e.Name, kit, seen[kit])
			continue
		case e.Size == 0:
			problem(ProblemEmpty, "Файл %s комплекта %s пустой (0 байт) и не принят: возьмите файл участника заново с компьютера или станции записи и загрузите его снова.", e.Name, kit)
			continue
		case e.Size > MaxFileSize:
			problem(ProblemTooBig, "Файл %s комплекта %s занимает %s — больше предела %s на файл — и не принят: проверьте, тот ли это файл.", e.Name, kit, mib(e.Size), mib(MaxFileSize))
			continue
		}
		rc, err := e.open()
		if err != nil {
			problem(ProblemUnreadable, "Файл %s комплекта %s не читается (%v) и не принят: скопируйте его заново и загрузите снова.", e.Name, kit, err)
			continue
		}
		stored, size, sum, err := d.store(kind, kit, extOf(base), now, rc)
		rc.Close()
		var re *readError
		switch {
		case errors.Is(err, errTooBig):
			problem(ProblemTooBig, "Файл %s комплекта %s больше предела %s на файл и не принят: проверьте, тот ли это файл.", e.Name, kit, mib(MaxFileSize))
			continue
		case errors.As(err, &re):
			problem(ProblemUnreadable, "Файл %s комплекта %s не читается (%v) и не принят: скопируйте его заново и загрузите снова.", e.Name, kit, re.err)
			continue
		case err != nil:
			return rep, fmt.Errorf("файл %s не сохранён на станции: %w; освободите место на диске станции и загрузите файлы снова", e.Name, err)
		case size == 0:
			os.Remove(d.Path(File{Kind: kind, Stored: stored}))
			problem(ProblemEmpty, "Файл %s комплекта %s пустой (0 байт) и не принят: возьмите файл участника заново с компьютера или станции записи и загрузите его снова.", e.Name, kit)
			continue
		}
		f := File{Kit: kit, Kind: kind, Name: kit + extOf(base), Stored: stored, Original: e.Name, Size: size, SHA256: sum, Imported: now.UTC(), By: by}
		if kind == Audio {
			secs, err := Duration(d.Path(f))
			if err != nil {
				os.Remove(d.Path(f))
				problem(ProblemNotAudio, "Файл %s комплекта %s не принят как аудиозапись: %v; возьмите запись участника со станции записи заново (WAV или MP3).", e.Name, kit, err)
				continue
			}
			f.Seconds = secs
		}
		seen[kit] = e.Name
		rep.Imported = append(rep.Imported, f)
	}
	return rep, nil
}

// Merge puts the staged files of rep into x, each replacing the file of
// the same kit and kind, and adds to rep what is missing after it and
// was not refused in it.
func Merge(x *Index, rep *Report, plan Plan) {
	for _, f := range rep.Imported {
		x.Files = slices.DeleteFunc(x.Files, func(g File) bool { return g.Kind == f.Kind && g.Kit == f.Kit })
		x.Files = append(x.Files, f)
	}
	x.sort()
	// A kit whose file was refused in this import is already told, with
	// what to do; saying it is missing as well would only repeat it.
	told := map[string]bool{}
	for _, p := range rep.Problems {
		told[p.Kit] = true
	}
	for _, p := range Missing(x, rep.Kind, plan) {
		if !told[p.Kit] {
			rep.Problems = append(rep.Problems, p)
		}
	}
	have := map[string]bool{}
	for _, f := range x.Of(rep.Kind) {
		have[f.Kit] = true
	}
	rep.Present = 0
	for _, k := range plan.Kits {
		if have[k] {
			rep.Present++
		}
	}
	if rep.Kind == Audio {
		rep.Seconds = x.Seconds()
	}
}

// Missing lists the planned kits with no file of kind in x.
func Missing(x *Index, kind string, plan Plan) []Problem {
	have := map[string]bool{}
	for _, f := range x.Of(kind) {
		have[f.Kit] = true
	}
	var out []Problem
	for _, k := range plan.Kits {
		if !have[k] {
			out = append(out, Problem{Kind: ProblemMissing, Kit: k,
				Text: fmt.Sprintf("Нет файла комплекта %s (%s): найдите файл участника и загрузите его; если участник не явился или не сдавал эту часть, отметьте это в акте.", k, KindName(kind))})
		}
	}
	return out
}

func mib(n int64) string { return fmt.Sprintf("%d МиБ", (n+(1<<20)-1)>>20) }

// Clock formats a duration in seconds as Ч:ММ:СС for screens.
func Clock(seconds float64) string {
	s := int64(seconds + 0.5)
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}
