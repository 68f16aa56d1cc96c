package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"giascan/station/users"
)

func init() {
	register(&command{
		name:    "user",
		local:   true,
		summary: "accounts of the web interface (user add --login L --role R; user list)",
		run:     runUser,
	})
}

const userUsage = `usage: station user add [--data DIR] --login LOGIN --role operator|technician|head|admin [--password-stdin]
       station user list [--data DIR]`

func runUser(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return badInput("want a subcommand: add or list (see `station user --help`)")
	}
	switch args[0] {
	case "add":
		return runUserAdd(e, args[1:])
	case "list":
		return runUserList(e, args[1:])
	case "-h", "--help", "-help", "help":
		fmt.Fprintln(e.stdout, userUsage)
		return nil
	}
	return badInput("unknown subcommand %q: want add or list", args[0])
}

// passwordReader reads the new password; tests replace it. The default
// reads from the terminal without echo when stdin is one.
var passwordReader = readPassword

func runUserAdd(e *env, args []string) error {
	fs := newFlagSet("user add")
	data := addDataFlag(fs)
	login := fs.String("login", "", "the new account's `login` (2–32 of a–z, 0–9, . _ -)")
	role := fs.String("role", "", "`role`: "+users.RoleList())
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin instead of the terminal")
	if help, err := parseCommand(e, fs, userUsage, args, data); help || err != nil {
		return err
	}
	if err := requireFlag("login", *login); err != nil {
		return err
	}
	if err := requireFlag("role", *role); err != nil {
		return err
	}
	// Check what can be checked before asking for the password, so a typo
	// does not cost the person typing it twice.
	if err := users.CheckLogin(*login); err != nil {
		return badInput("%s", err)
	}
	r := users.Role(*role)
	if !r.Valid() {
		return badInput("--role %q: want one of %s", *role, users.RoleList())
	}
	db := users.Open(*data)
	if _, found, err := db.Find(*login); err != nil {
		return err
	} else if found {
		return badInput("пользователь %q уже есть: выберите другой логин", *login)
	}
	pw, err := passwordReader(e, *fromStdin)
	if err != nil {
		return err
	}
	u, err := db.Add(*login, r, pw, time.Now())
	if users.IsInput(err) {
		return badInput("%s", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Пользователь %s добавлен, роль: %s\n", u.Login, u.Role.Name())
	return nil
}

// readPassword reads the password: one line from stdin with
// --password-stdin; otherwise twice from the terminal without echo.
func readPassword(e *env, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", badInput("--password-stdin: no password on stdin")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", badInput("stdin is not a terminal: type the password in a terminal or pass it with --password-stdin")
	}
	fmt.Fprint(e.stderr, "Пароль (не меньше 10 символов): ")
	a, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("пароль не прочитан с терминала: %w", err)
	}
	if err := users.CheckPassword(string(a)); err != nil {
		return "", badInput("%s", err)
	}
	fmt.Fprint(e.stderr, "Пароль ещё раз: ")
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("пароль не прочитан с терминала: %w", err)
	}
	if string(a) != string(b) {
		return "", badInput("пароли не совпадают: запустите команду снова")
	}
	return string(a), nil
}

func runUserList(e *env, args []string) error {
	fs := newFlagSet("user list")
	data := addDataFlag(fs)
	if help, err := parseCommand(e, fs, userUsage, args, data); help || err != nil {
		return err
	}
	list, err := users.Open(*data).List()
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "Пользователей нет: добавьте их командой station user add.")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ЛОГИН\tРОЛЬ\tСОЗДАН")
	for _, u := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Login, u.Role.Name(), u.Created.Local().Format("02.01.2006 15:04"))
	}
	return tw.Flush()
}
