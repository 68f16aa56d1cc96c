package station

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"giascan/forms"
	"giascan/station/audit"
	"giascan/station/serials"
)

func openTestStation(t *testing.T) *Station {
	t.Helper()
	s, err := Open(t.TempDir(), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var printExam = forms.Identity{Level: 11, Region: "77", PPE: "0101", Auditorium: "0012", Subject: "02", Date: "20250527"}

// A print whose PDF cannot be written (a full disk, a dropped download)
// keeps its numbers spent and its job on record as failed, and is not
// logged as printed; the next print takes new numbers.
func TestPrintThatFailsToWriteSpendsItsNumbers(t *testing.T) {
	s := openTestStation(t)
	full := errors.New("no space left on device")
	_, err := s.Print(context.Background(), "tech", PrintRequest{What: PrintKits, Exam: printExam, Count: 2},
		func(write func(io.Writer) error) error {
			if err := write(io.Discard); err != nil {
				return err
			}
			return full
		})
	if !errors.Is(err, full) {
		t.Fatalf("print onto a full disk: %v", err)
	}
	jobs, err := serials.Jobs(string(s.Dir))
	if err != nil || len(jobs) != 1 || jobs[0].Status != serials.JobFailed || !strings.Contains(jobs[0].Error, "no space") {
		t.Fatalf("jobs %+v %v", jobs, err)
	}
	log, _ := os.ReadFile(filepath.Join(string(s.Dir), audit.FileName))
	if strings.Contains(string(log), audit.ActionPrint) {
		t.Errorf("a failed print is logged as printed:\n%s", log)
	}
	var buf bytes.Buffer
	p, err := s.Print(context.Background(), "tech", PrintRequest{What: PrintKits, Exam: printExam, Count: 1},
		func(write func(io.Writer) error) error { return write(&buf) })
	if err != nil {
		t.Fatal(err)
	}
	if p.Job.Serials.First != jobs[0].Serials.Last+1 || p.Job.Kits.First != jobs[0].Kits.Last+1 || p.Pages != 3 {
		t.Errorf("after the failed job %s/%s the next took %s/%s", jobs[0].Serials, jobs[0].Kits, p.Job.Serials, p.Job.Kits)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF")) || p.File != "komplekty-0101-0012-1.pdf" {
		t.Errorf("PDF %d bytes, file %q", buf.Len(), p.File)
	}
	log, _ = os.ReadFile(filepath.Join(string(s.Dir), audit.FileName))
	if !strings.Contains(string(log), audit.ActionPrint) || !strings.Contains(string(log), `"tech"`) {
		t.Errorf("the print is not logged:\n%s", log)
	}
}

// Requests a person can get wrong are refused with a sentence naming the
// field, before any number is spent.
func TestPrintRefusesBeforeSpending(t *testing.T) {
	s := openTestStation(t)
	noKit := printExam
	noKit.Kit = forms.NoKit
	form := printExam
	cases := []struct {
		req  PrintRequest
		want string
	}{
		{PrintRequest{What: "labels", Exam: printExam}, "неизвестно, что печатать"},
		{PrintRequest{What: PrintKits, Exam: printExam, Count: 0}, "число комплектов"},
		{PrintRequest{What: PrintKits, Exam: printExam, Count: MaxPrintKits + 1}, "число комплектов"},
		{PrintRequest{What: PrintKits, Exam: forms.Identity{Level: 10, Region: "77", PPE: "0101", Auditorium: "0012", Subject: "02", Date: "20250527"}, Count: 1}, "уровень"},
		{PrintRequest{What: PrintDBO, Exam: noKit, FirstSheet: 3, Count: 1}, "без комплекта"},
		{PrintRequest{What: PrintDBO, Exam: func() forms.Identity { i := printExam; i.Kit = "0000000042"; return i }(), FirstSheet: 98, Count: 3}, "до 99"},
		{PrintRequest{What: PrintForm, Exam: form, Form: forms.TypePPE15}, "ППЭ-15"},
		{PrintRequest{What: PrintForm, Exam: form, Form: forms.TypeBO1}, "не печатается"},
	}
	for _, c := range cases {
		_, err := s.Print(context.Background(), "tech", c.req, func(write func(io.Writer) error) error { return write(io.Discard) })
		if !IsInput(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want a refusal saying %q", c.req, err, c.want)
		}
	}
	if jobs, _ := serials.Jobs(string(s.Dir)); len(jobs) != 0 {
		t.Errorf("refusals spent numbers: %+v", jobs)
	}
}
