package recognition

import (
	"testing"

	"giascan/forms"
)

// BenchmarkPage300 measures one type-11 page at 300 dpi, decoded already.
func BenchmarkPage300(b *testing.B) {
	set := forms.Builtin()
	rc, _ := New(set, nil)
	g := renderPage(b, set, "11", 9, pen{marks: []string{"t01_1"}, zones: []string{"surname"}}, 300)
	m := scan(toMat(b, g), 0, 1.5, 1, 1, 1, 300)
	defer m.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rc.Page(m)
	}
}
