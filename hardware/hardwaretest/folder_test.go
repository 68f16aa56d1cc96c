package hardwaretest_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"giascan/hardware"
	"giascan/hardware/folder"
	"giascan/hardware/hardwaretest"
)

// unplugging wraps a folder and takes the folder away (renames it) once a
// number of pages were delivered, as an unplugged drive or a lost share
// would.
type unplugging struct {
	*folder.Folder
	dir       string
	goneAfter int
	count     int
}

func (u *unplugging) Scan(ctx context.Context, opts hardware.Options, deliver func(hardware.Page) error) error {
	return u.Folder.Scan(ctx, opts, func(p hardware.Page) error {
		if err := deliver(p); err != nil {
			return err
		}
		u.count++
		if u.count == u.goneAfter {
			return os.Rename(u.dir, u.dir+".away")
		}
		return nil
	})
}

// replug puts the folder back and opens it again, by the spec as the
// station would.
func (u *unplugging) replug(t *testing.T) hardware.Scanner {
	t.Helper()
	if err := os.Rename(u.dir+".away", u.dir); err != nil {
		t.Fatal(err)
	}
	return hardwaretest.Replug(t, u.Folder)
}

func TestFolder(t *testing.T) {
	hardwaretest.Run(t, func(t *testing.T, s hardwaretest.Stack) hardware.Scanner {
		dir := filepath.Join(t.TempDir(), "scans")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range s.Pages {
			img := image.NewGray(image.Rect(0, 0, 8, 8))
			img.Pix[0] = uint8(i)
			var b bytes.Buffer
			if err := png.Encode(&b, img); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("scan%04d.png", i+1)), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		f, err := folder.Open(dir + ",settle=100ms,poll=10ms")
		if err != nil {
			t.Fatal(err)
		}
		if s.GoneAfter == 0 {
			return f
		}
		return &unplugging{Folder: f, dir: dir, goneAfter: s.GoneAfter}
	}, hardwaretest.Caps{Reopen: func(t *testing.T, gone hardware.Scanner) hardware.Scanner {
		return gone.(*unplugging).replug(t)
	}})
}
