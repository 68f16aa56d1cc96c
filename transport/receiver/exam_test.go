package receiver_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"giascan/transport/receiver"
)

const testExam = `{"level":9,"subject":"01","region":"50","date":"2025-06-01",
 "ppe":[{"code":"1234","auditoriums":[{"number":"0007"},{"number":"0008"}]},
        {"code":"4321","auditoriums":[{"number":"0001"}]}]}`

func TestExamProgress(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := receiver.ImportExam(f.rdir, []byte(`{"level":9}`), nil); err == nil {
		t.Error("an exam owing no package was imported")
	}
	// What station/exam's OwedPackages makes of testExam.
	owed := receiver.Owed{
		"1234": {{Package: "9-50-1234-0007-01-20250601", Auditorium: "0007"},
			{Package: "9-50-1234-0008-01-20250601", Auditorium: "0008"}, {Package: "9-50-1234-ppe-01-20250601"}},
		"4321": {{Package: "9-50-4321-0001-01-20250601", Auditorium: "0001"}, {Package: "9-50-4321-ppe-01-20250601"}},
	}
	if err := receiver.ImportExam(f.rdir, []byte(testExam), owed); err != nil {
		t.Fatal(err)
	}
	tarball, m, hash := build(t, "1234", 1, image(t, 1))
	ct, sig := f.sealTar(t, tarball, f.station, m, hash)
	if _, err := f.rcv.Accept(ctx, sig, ct); err != nil {
		t.Fatal(err)
	}
	st, err := f.rcv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.PPE) != 2 || st.PPE[0].PPE != "1234" || st.PPE[1].PPE != "4321" {
		t.Fatalf("status lists %+v, want both ППЭ of the exam", st.PPE)
	}
	p := st.PPE[0].Progress
	if p == nil || p.Complete || len(p.Expected) != 3 || !p.Expected[0].Arrived || p.Expected[0].Version != 1 ||
		strings.Join(p.Missing, ",") != "9-50-1234-0008-01-20250601,9-50-1234-ppe-01-20250601" {
		t.Errorf("progress of 1234: %+v", p)
	}
	if q := st.PPE[1].Progress; q == nil || q.Complete || len(q.Missing) != 2 {
		t.Errorf("progress of 4321 (nothing sent): %+v", q)
	}

	h, err := f.rcv.Handler(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	if code, body := get(t, signing(f.station), srv.URL+receiver.ExamPath); code != http.StatusOK || body != testExam {
		t.Errorf("GET %s as a station: %d %q", receiver.ExamPath, code, body)
	}
	if code, body := get(t, nil, srv.URL+receiver.ExamPath); code != http.StatusOK || body != testExam {
		t.Errorf("GET %s as staff: %d %q", receiver.ExamPath, code, body)
	}
	if code, body := get(t, nil, srv.URL+"/status.json"); !strings.Contains(body, `"complete": false`) || !strings.Contains(body, `"missing"`) {
		t.Errorf("status.json has no progress: %d %s", code, body)
	}
}
