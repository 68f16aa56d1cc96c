package main

// Flags shared by the station's commands. Every validator returns a
// refusal (exit status 2) whose one line names the flag and says what
// is wrong with its value, so commands can report it as is.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"giascan/forms"
)

// dataEnv names the environment variable that sets the default data folder.
const dataEnv = "STATION_DATA"

// defaultDataDir is the station data folder when --data is not given.
func defaultDataDir() string {
	if d := os.Getenv(dataEnv); d != "" {
		return d
	}
	return "station-data"
}

// newFlagSet makes a flag set that reports errors instead of printing them
// and exiting: run turns them into one line and exit status 2.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args and returns the positional arguments, which may
// stand before, between or after the flags (`print form 51 --level 9`).
// A request for help is returned as flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, badInput("%s", strings.Replace(err.Error(), "flag provided but not defined: -", "unknown flag -", 1))
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// flagUsage writes the flags of a flag set, for --help.
func flagUsage(w io.Writer, fs *flag.FlagSet) {
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// requireFlag refuses an empty value of a mandatory flag.
func requireFlag(name, value string) error {
	if value == "" {
		return badInput("missing --%s", name)
	}
	return nil
}

func digitsFlag(name, value string, n int, what string) (string, error) {
	if err := requireFlag(name, value); err != nil {
		return "", err
	}
	if len(value) != n || strings.Trim(value, "0123456789") != "" {
		return "", badInput("--%s %q: want %s of exactly %d digits", name, value, what, n)
	}
	return value, nil
}

// parseLevel checks --level: 9 (ОГЭ/ГВЭ-9) or 11 (ЕГЭ/ГВЭ-11).
func parseLevel(value string) (int, error) {
	if err := requireFlag("level", value); err != nil {
		return 0, err
	}
	switch value {
	case "9":
		return 9, nil
	case "11":
		return 11, nil
	}
	return 0, badInput("--level %q: want 9 (ГИА-9) or 11 (ГИА-11)", value)
}

// parseRegion checks --region: a 2-digit region code.
func parseRegion(value string) (string, error) {
	return digitsFlag("region", value, 2, "a region code")
}

// parsePPE checks --ppe: a 4-digit ППЭ code.
func parsePPE(value string) (string, error) {
	return digitsFlag("ppe", value, 4, "a ППЭ code")
}

// parseAuditorium checks --auditorium: a 4-digit auditorium number. 0000
// is refused: it stands for "ППЭ-wide" on forms.
func parseAuditorium(value string) (string, error) {
	a, err := digitsFlag("auditorium", value, 4, "an auditorium number")
	if err != nil {
		return "", err
	}
	if a == "0000" {
		return "", badInput("--auditorium 0000: auditorium numbers start at 0001 (0000 marks ППЭ-wide forms)")
	}
	return a, nil
}

// parseSubject checks --subject: a 2-digit code known in forms.Subjects.
func parseSubject(value string) (string, error) {
	s, err := digitsFlag("subject", value, 2, "a subject code")
	if err != nil {
		return "", err
	}
	if _, ok := forms.Subjects[s]; !ok {
		return "", badInput("--subject %s: unknown subject code (known: %s)", s, subjectCodes())
	}
	return s, nil
}

func subjectCodes() string {
	codes := make([]string, 0, len(forms.Subjects))
	for c := range forms.Subjects {
		codes = append(codes, c)
	}
	sort.Strings(codes) // a stable message
	return strings.Join(codes, " ")
}

// parseDate checks --date YYYY-MM-DD (a real calendar date) and returns it
// as YYYYMMDD, the form of the QR code.
func parseDate(value string) (string, error) {
	if err := requireFlag("date", value); err != nil {
		return "", err
	}
	d, err := time.Parse("2006-01-02", value)
	if err != nil || len(value) != 10 {
		return "", badInput("--date %q: want a valid date as YYYY-MM-DD", value)
	}
	return d.Format("20060102"), nil
}

// parseCount checks a count flag: a whole number in 1..max.
func parseCount(name, value string, max int) (int, error) {
	if err := requireFlag(name, value); err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(value)
	if err != nil || n < 1 || n > max {
		return 0, badInput("--%s %q: want a whole number from 1 to %d", name, value, max)
	}
	return n, nil
}

// checkOutput checks that an output file can be created at path: its
// folder exists and takes new files, and path is not a folder. Commands
// call it before they change any state, so that a typo in --out does not
// cost serial numbers.
func checkOutput(name, path string) error {
	if err := requireFlag(name, path); err != nil {
		return err
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return badInput("--%s %s: is a folder, want a file name", name, path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return badInput("--%s %s: folder %s does not exist", name, path, dir)
	case err != nil:
		return badInput("--%s %s: %v", name, path, err)
	case !fi.IsDir():
		return badInput("--%s %s: %s is not a folder", name, path, dir)
	}
	probe, err := os.CreateTemp(dir, ".station-probe-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the folder is already named
		}
		return badInput("--%s %s: cannot write to folder %s: %v", name, path, dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// addDataFlag registers --data, the station data folder.
func addDataFlag(fs *flag.FlagSet) *string {
	return fs.String("data", defaultDataDir(), "station data `folder` (default from $"+dataEnv+", else ./station-data)")
}

// checkDataDir checks --data: a folder, or a path where one can be made.
func checkDataDir(path string) error {
	if err := requireFlag("data", path); err != nil {
		return err
	}
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		return badInput("--data %s: is not a folder", path)
	}
	return nil
}

// examFlags are the flags that place a page in an exam: the QR context.
type examFlags struct {
	level, region, ppe, auditorium, subject, date *string
}

// addExamFlags registers --level, --region, --ppe, --subject, --date and,
// for pages of an auditorium, --auditorium.
func addExamFlags(fs *flag.FlagSet, withAuditorium bool) *examFlags {
	f := &examFlags{
		level:  fs.String("level", "", "exam level: 9 (ГИА-9) or 11 (ГИА-11)"),
		region: fs.String("region", "", "region code, 2 digits"),
		ppe:    fs.String("ppe", "", "ППЭ code, 4 digits"),
	}
	if withAuditorium {
		f.auditorium = fs.String("auditorium", "", "auditorium number, 4 digits")
	}
	f.subject = fs.String("subject", "", "subject code, 2 digits (02 математика, …)")
	f.date = fs.String("date", "", "exam date, YYYY-MM-DD")
	return f
}

// identity validates the flags and returns the exam context as a partial
// page identity (level, region, ППЭ, auditorium, subject, date). Without
// --auditorium the auditorium is 0000, as on ППЭ-wide forms.
func (f *examFlags) identity() (forms.Identity, error) {
	var id forms.Identity
	var err error
	if id.Level, err = parseLevel(*f.level); err != nil {
		return id, err
	}
	if id.Region, err = parseRegion(*f.region); err != nil {
		return id, err
	}
	if id.PPE, err = parsePPE(*f.ppe); err != nil {
		return id, err
	}
	id.Auditorium = "0000"
	if f.auditorium != nil {
		if id.Auditorium, err = parseAuditorium(*f.auditorium); err != nil {
			return id, err
		}
	}
	if id.Subject, err = parseSubject(*f.subject); err != nil {
		return id, err
	}
	if id.Date, err = parseDate(*f.date); err != nil {
		return id, err
	}
	return id, nil
}

// parseCommand parses the flags of a command that takes no positional
// arguments and checks its data folder. help is true when --help printed
// the usage and the command has nothing more to do.
func parseCommand(e *env, fs *flag.FlagSet, usage string, args []string, data *string) (help bool, err error) {
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(e.stdout, usage)
		flagUsage(e.stdout, fs)
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if len(pos) > 0 {
		return false, badInput("unexpected argument %q", pos[0])
	}
	if data == nil {
		return false, nil // a command that touches no data folder
	}
	return false, checkDataDir(*data)
}
