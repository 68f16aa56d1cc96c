package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"giascan/station"
	"giascan/station/packaging"
)

// The delivery page offers the mounted removable media; writing a ППЭ's
// packages there reads them back, logs it, and refuses a medium that is
// not mounted; the page's status for live updates is JSON.
func TestDeliveryExportToMediaAndStatus(t *testing.T) {
	s := newScanned(t)
	media := t.TempDir()
	flash := filepath.Join(media, "FLASH")
	os.Mkdir(flash, 0o755)
	old := station.MediaRoots
	station.MediaRoots = []string{media}
	t.Cleanup(func() { station.MediaRoots = old })

	oper := s.client(t)
	oper.mustSignIn("oper")
	d := oper.get("/delivery/" + s.place.PPE)
	if d.code != http.StatusOK || strings.Contains(d.body, `id="export-form"`) {
		t.Fatalf("operator's delivery page offers export: %d", d.code)
	}
	head := s.client(t)
	head.mustSignIn("head")
	if d := head.get("/delivery/" + s.place.PPE); !strings.Contains(d.body, `id="nothing-to-export"`) {
		t.Errorf("nothing sealed yet, but:\n%s", d.body)
	}
	tok := oper.token(auditoriumURL(s.place))
	if r := oper.post("/auditorium/close", url.Values{"csrf": {tok}, "ppe": {s.place.PPE}, "aud": {s.place.Auditorium}, "reason": {"проверка выгрузки"}, "confirmed": {"yes"}}); r.code != http.StatusSeeOther {
		t.Fatalf("close: %d\n%s", r.code, r.body)
	}
	d = head.get("/delivery/" + s.place.PPE)
	if !strings.Contains(d.body, `value="`+flash+`"`) || !strings.Contains(d.body, "свободно") {
		t.Fatalf("the medium is not offered:\n%s", d.body)
	}
	htok := head.token("/delivery/" + s.place.PPE)
	if r := head.post("/delivery/"+s.place.PPE+"/export", url.Values{"csrf": {htok}, "medium": {"/etc"}}); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Носитель не выбран или уже извлечён") {
		t.Errorf("export to a folder that is no medium: %d", r.code)
	}
	if r := oper.post("/delivery/"+s.place.PPE+"/export", url.Values{"csrf": {tok}, "medium": {flash}}); r.code != http.StatusForbidden {
		t.Errorf("operator's export: %d", r.code)
	}
	r := head.post("/delivery/"+s.place.PPE+"/export", url.Values{"csrf": {htok}, "medium": {flash}})
	if r.code != http.StatusSeeOther || !strings.Contains(r.location, "/delivery/"+s.place.PPE) {
		t.Fatalf("export: %d %s\n%s", r.code, r.location, r.body)
	}
	if page := head.get(r.location); !strings.Contains(page.body, "сверено по контрольным суммам") {
		t.Errorf("after export:\n%s", page.body)
	}
	dir := filepath.Join(flash, "giascan-"+s.place.PPE)
	sums, err := os.ReadFile(filepath.Join(dir, packaging.SumsName))
	if err != nil || !strings.Contains(string(sums), ".tar.age") {
		t.Fatalf("SHA256SUMS on the medium: %q %v", sums, err)
	}
	if !strings.Contains(s.auditText(t), `"package.export"`) {
		t.Error("the export is not in the audit log")
	}

	// The status the page polls.
	st := head.get("/delivery/" + s.place.PPE + "/status")
	var js deliveryStatusJSON
	if st.code != http.StatusOK || json.Unmarshal([]byte(st.body), &js) != nil || len(js.Rows) != 1 || js.Total == 0 || js.Rows[0].Size != js.Total {
		t.Errorf("status: %d %s", st.code, st.body)
	}
}
