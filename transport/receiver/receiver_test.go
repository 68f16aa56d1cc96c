package receiver_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"giascan/transport/pkg"
	"giascan/transport/receiver"
	"giascan/transport/receiver/receipt"
)

// Every way a package can be tampered with is refused with its reason in
// the rejects log, and none of them shows up as accepted.
func TestTamperedPackagesAreRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	page := image(t, 20_000)
	tarball, m, hash := build(t, "1234", 1, page)
	ct, sig := f.sealTar(t, tarball, f.station, m, hash)

	f.addStation(t, "5678") // that ППЭ exists and has its own station
	tar5678, m5678, hash5678 := build(t, "5678", 1, image(t, 5_000))
	stranger := newFixture(t).station // a key this РЦОИ never registered

	cases := []struct {
		name, reason string
		make         func() ([]byte, []byte)
	}{
		{"flipped ciphertext byte", "не тот, что подписан", func() ([]byte, []byte) {
			bad := bytes.Clone(ct)
			bad[len(bad)/2] ^= 0x01
			return bad, sig
		}},
		{"edited manifest, re-encrypted under the old signature", "не тот, что подписан", func() ([]byte, []byte) {
			edited := rewriteTar(t, tarball, func(name string, d []byte) []byte {
				if name == pkg.ManifestName {
					return bytes.Replace(d, []byte(`"0007"`), []byte(`"0008"`), 1)
				}
				return d
			})
			c, _ := f.sealTar(t, edited, f.station, m, hash)
			return c, sig
		}},
		{"edited manifest hash of a page, signed", "is altered", func() ([]byte, []byte) {
			edited := rewriteTar(t, tarball, func(name string, d []byte) []byte {
				if name == pkg.ManifestName {
					return bytes.Replace(d, []byte(m.Pages[0].SHA256), []byte(strings.Repeat("0", 64)), 1)
				}
				return d
			})
			return f.sealTar(t, edited, f.station, m, pkg.ManifestHash(manifestOf(t, edited)))
		}},
		{"swapped image, signed", "is altered", func() ([]byte, []byte) {
			swapped := rewriteTar(t, tarball, func(name string, d []byte) []byte {
				if name != pkg.ManifestName {
					return image(t, len(d))
				}
				return d
			})
			return f.sealTar(t, swapped, f.station, m, hash)
		}},
		{"unregistered station key", "не зарегистрирован", func() ([]byte, []byte) {
			return f.sealTar(t, tarball, stranger, m, hash)
		}},
		{"package of another ППЭ signed by this station", "зарегистрирована для ППЭ 1234", func() ([]byte, []byte) {
			return f.sealTar(t, tar5678, f.station, m5678, hash5678)
		}},
		{"signature statement edited", "не сходится", func() ([]byte, []byte) {
			return ct, bytes.Replace(sig, []byte(`"version":1`), []byte(`"version":2`), 1)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad, badSig := c.make()
			_, err := f.rcv.Accept(ctx, badSig, bad)
			if !errors.Is(err, receiver.ErrRefused) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("Accept: %v, want a refusal saying %q", err, c.reason)
			}
			if err := f.rcv.LogReject(badSig, "test", err); err != nil {
				t.Fatal(err)
			}
		})
	}
	st, err := f.rcv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range st.PPE {
		if len(p.Packages) != 0 {
			t.Errorf("ППЭ %s: %d package(s) accepted from tampered uploads", p.PPE, len(p.Packages))
		}
	}
	rejects, err := receiver.Rejects(f.rdir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rejects) != len(cases) || st.Rejects != len(cases) {
		t.Fatalf("rejects log has %d entries (status %d), want %d", len(rejects), st.Rejects, len(cases))
	}
	for i, rj := range rejects {
		if !strings.Contains(rj.Reason, cases[i].reason) {
			t.Errorf("reject %d: %q, want %q", i, rj.Reason, cases[i].reason)
		}
	}

	// The untampered package is accepted afterwards.
	acc, err := f.rcv.Accept(ctx, sig, ct)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Receipt.PPE != "1234" || acc.Receipt.Manifest != hash {
		t.Fatalf("receipt %+v", acc.Receipt)
	}
}

func manifestOf(t *testing.T, tarball []byte) []byte {
	t.Helper()
	var mb []byte
	rewriteTar(t, tarball, func(name string, d []byte) []byte {
		if name == pkg.ManifestName {
			mb = bytes.Clone(d)
		}
		return d
	})
	return mb
}

// A resend of the same version is acknowledged once with the same receipt;
// a new version is kept beside the old; an old version with new contents
// is a replay and refused.
func TestVersionsIdempotenceAndReplay(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	tar1, m1, h1 := build(t, "1234", 1, image(t, 10_000))
	ct1, sig1 := f.sealTar(t, tar1, f.station, m1, h1)
	first, err := f.rcv.Accept(ctx, sig1, ct1)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := receipt.Verify(first.File, f.rcv.ReceiptKey())
	if err != nil || rc.Package != m1.ID || rc.Version != 1 || rc.Manifest != h1 || rc.Ciphertext == "" || rc.Received.IsZero() {
		t.Fatalf("receipt %+v: %v", rc, err)
	}

	// The same package sealed again: new ciphertext, same contents.
	ct1b, sig1b := f.sealTar(t, tar1, f.station, m1, h1)
	again, err := f.rcv.Accept(ctx, sig1b, ct1b)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Repeated || !bytes.Equal(again.File, first.File) {
		t.Fatalf("resend: repeated %v, same receipt %v", again.Repeated, bytes.Equal(again.File, first.File))
	}

	tar2, m2, h2 := build(t, "1234", 2, image(t, 10_000), image(t, 3_000))
	ct2, sig2 := f.sealTar(t, tar2, f.station, m2, h2)
	if _, err := f.rcv.Accept(ctx, sig2, ct2); err != nil {
		t.Fatal(err)
	}

	// Version 1 again but with other contents: a replay under an old number.
	tarR, mR, hR := build(t, "1234", 1, image(t, 10_000))
	ctR, sigR := f.sealTar(t, tarR, f.station, mR, hR)
	if _, err := f.rcv.Accept(ctx, sigR, ctR); !errors.Is(err, receiver.ErrRefused) || !strings.Contains(err.Error(), "уже принята с другим содержимым") {
		t.Fatalf("replay: %v", err)
	}

	st, err := f.rcv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.PPE) != 1 || len(st.PPE[0].Packages) != 2 ||
		st.PPE[0].Packages[0].Manifest != h1 || st.PPE[0].Packages[1].Manifest != h2 {
		t.Fatalf("status %+v", st)
	}
	if got, err := f.rcv.Receipt(ctx, m1.ID, 1); err != nil || !bytes.Equal(got, first.File) {
		t.Fatalf("stored receipt of v1: %v", err)
	}
}
