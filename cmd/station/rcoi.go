package main

import (
	"context"
	"fmt"
)

func init() {
	register(&command{
		name:    "rcoi",
		summary: "set the РЦОИ's address and receipt key: sealed packages are then sent by themselves (rcoi set --url URL --key ed25519:KEY)",
		run:     runRCOI,
	})
}

const rcoiUsage = `usage: station rcoi set --url https://HOST:PORT --key ed25519:KEY [--user LOGIN]
       station rcoi show`

func runRCOI(ctx context.Context, e *env, args []string) error {
	verb, args, err := subcommand(e, rcoiUsage, args, "set", "show")
	if err != nil {
		return err
	}
	fs := newFlagSet("rcoi " + verb)
	data := addDataFlag(fs)
	url := fs.String("url", "", "the РЦОИ receiver, https://host:port")
	key := fs.String("key", "", "the РЦОИ's receipt key, ed25519:…")
	user := fs.String("user", osUser(), "your login, for the audit log")
	help, err := parseCommand(e, fs, rcoiUsage, args, data)
	if help || err != nil {
		return err
	}
	st, done, err := e.openStation(*data)
	if err != nil {
		return err
	}
	defer done()
	if verb == "show" {
		r, _, ok, err := st.RCOI()
		if err != nil {
			return err
		}
		if !ok {
			return badInput("адрес и ключ РЦОИ не заданы: задайте их (station rcoi set), и станция начнёт отправлять пакеты сама")
		}
		fmt.Fprintf(e.stdout, "РЦОИ: %s\nключ квитанций: %s\nзадан: %s, %s\n", r.URL, r.Key, r.By, r.At.Local().Format("02.01.2006 15:04"))
		return nil
	}
	r, err := st.SetRCOI(*user, *url, *key)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "РЦОИ задан: %s. Служба станции (station serve) отправляет запечатанные пакеты сама, по мере их появления.\n", r.URL)
	return nil
}
