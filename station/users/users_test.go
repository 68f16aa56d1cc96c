package users

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var cheap = Params{Memory: 64, Time: 1, Threads: 1}

func TestAddAuthenticateAndFile(t *testing.T) {
	dir := t.TempDir()
	db := Open(dir)
	db.Params = cheap
	if _, err := db.Add("ivanova", Head, "длинный-пароль-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if u, ok, err := db.Authenticate("ivanova", "длинный-пароль-1"); err != nil || !ok || u.Role != Head {
		t.Fatalf("authenticate: %v %v %+v", err, ok, u)
	}
	if _, ok, _ := db.Authenticate("ivanova", "длинный-пароль-2"); ok {
		t.Fatal("wrong password accepted")
	}
	if _, ok, _ := db.Authenticate("nobody", "длинный-пароль-1"); ok {
		t.Fatal("unknown login accepted")
	}
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("users file mode: %v %v", fi.Mode(), err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, FileName))
	if strings.Contains(string(raw), "длинный-пароль") || !strings.Contains(string(raw), "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("users file does not hold a parameterised argon2id hash only:\n%s", raw)
	}
}

func TestAddRefusesBadInput(t *testing.T) {
	db := Open(t.TempDir())
	db.Params = cheap
	if _, err := db.Add("petrov", Operator, "0123456789", time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		login, role, pw string
	}{
		{"Petrov", "operator", "0123456789"},
		{"p", "operator", "0123456789"},
		{"sidorov", "boss", "0123456789"},
		{"sidorov", "operator", "012345678"},
		{"petrov", "operator", "0123456789"},
	} {
		if _, err := db.Add(c.login, Role(c.role), c.pw, time.Now()); !IsInput(err) {
			t.Errorf("Add(%q, %q, %q) = %v, want an input error", c.login, c.role, c.pw, err)
		}
	}
	list, _ := db.List()
	if len(list) != 1 {
		t.Fatalf("refused adds changed the file: %+v", list)
	}
}

func TestSaltsDiffer(t *testing.T) {
	a, _ := HashPassword("0123456789", cheap)
	b, _ := HashPassword("0123456789", cheap)
	if a == b || !VerifyPassword("0123456789", a) || !VerifyPassword("0123456789", b) {
		t.Fatal("hashes must be salted and verify")
	}
	if VerifyPassword("x", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA") {
		t.Fatal("absurd parameters accepted")
	}
}

func TestRoleMatrix(t *testing.T) {
	if Can(Operator, ImportExam) || !Can(Head, ImportExam) || !Can(Admin, ImportExam) {
		t.Error("import exam: admin and head only")
	}
	if !Can(Head, ConfirmForm) || Can(Operator, ConfirmForm) || Can(Admin, ConfirmForm) {
		t.Error("confirm ППЭ-13-02-МАШ: head only")
	}
	if !Can(Head, SignProtocol) || Can(Admin, SignProtocol) || Can(Technician, SignProtocol) {
		t.Error("sign protocol: head only")
	}
	for _, r := range []Role{Operator, Technician, Head} {
		if !Can(r, Scan) || !Can(r, Fix) {
			t.Errorf("%s must scan and fix", r)
		}
	}
	if Can(Admin, Scan) {
		t.Error("admin does not scan")
	}
}

// A disabled account cannot sign in, a new password replaces the old
// one, and the last administrator is never disabled.
func TestDisableAndResetPassword(t *testing.T) {
	db := Open(t.TempDir())
	db.Params = Params{Memory: 64, Time: 1, Threads: 1}
	now := time.Now()
	if _, err := db.Add("admin1", Admin, "пароль-админа-1", now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Add("oper1", Operator, "пароль-оператора", now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetDisabled("oper1", true); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.Authenticate("oper1", "пароль-оператора"); ok {
		t.Error("a disabled account signed in")
	}
	if _, err := db.SetDisabled("oper1", false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetPassword("oper1", "новый-пароль-1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.Authenticate("oper1", "пароль-оператора"); ok {
		t.Error("the old password still works")
	}
	if _, ok, _ := db.Authenticate("oper1", "новый-пароль-1"); !ok {
		t.Error("the new password does not work")
	}
	if _, err := db.SetDisabled("admin1", true); !IsInput(err) {
		t.Errorf("disabling the last administrator: %v", err)
	}
	if _, err := db.SetPassword("nobody", "новый-пароль-1"); !IsInput(err) {
		t.Errorf("password of an unknown login: %v", err)
	}
}
