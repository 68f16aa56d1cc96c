package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
)

func init() {
	register(&command{
		name:    "rcoi",
		summary: "set the РЦОИ's address and receipt key: sealed packages are then sent by themselves (rcoi set --url URL --key ed25519:KEY)",
		run:     runRCOI,
	})
}

const rcoiUsage = `usage: station rcoi set --url https://HOST:PORT --key ed25519:KEY [--tls sha256:PIN] [--user LOGIN]
       station rcoi enrol [--user LOGIN] INVITATION
       station rcoi show`

func runRCOI(ctx context.Context, e *env, args []string) error {
	verb, args, err := subcommand(e, rcoiUsage, args, "set", "enrol", "show")
	if err != nil {
		return err
	}
	fs := newFlagSet("rcoi " + verb)
	data := addDataFlag(fs)
	url := fs.String("url", "", "the РЦОИ receiver, https://host:port")
	key := fs.String("key", "", "the РЦОИ's receipt key, ed25519:…")
	pin := fs.String("tls", "", "the РЦОИ receiver's certificate fingerprint, sha256:…, when it has its own certificate")
	user := fs.String("user", osUser(), "your login, for the audit log")
	var invitation []byte
	if verb == "enrol" {
		pos, err := parseFlags(fs, args)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(e.stdout, rcoiUsage)
			flagUsage(e.stdout, fs)
			return nil
		}
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return badInput("укажите один файл приглашения, выданный РЦОИ")
		}
		if invitation, err = os.ReadFile(e.path(pos[0])); err != nil {
			return badInput("файл приглашения %s не читается: %v", pos[0], unwrapPath(err))
		}
	} else if help, err := parseCommand(e, fs, rcoiUsage, args, data); help || err != nil {
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
	if verb == "enrol" {
		en, err := st.Enrol(ctx, *user, invitation)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Станция зарегистрирована в РЦОИ для ППЭ %s.\nОтпечаток ключа станции: %s\nОтпечаток ключа квитанций РЦОИ: %s\nСверьте оба отпечатка с РЦОИ по телефону.\n",
			en.PPE, en.StationFingerprint, en.ReceiptFingerprint)
		if en.Exam != nil {
			fmt.Fprintf(e.stdout, "Экзамен получен от РЦОИ: ППЭ %d.\n", len(en.Exam.Exam.PPE))
		}
		fmt.Fprintf(e.stdout, "Пакеты будут отправляться на %s сами.\n", en.RCOI.URL)
		return nil
	}
	r, err := st.SetRCOI(*user, *url, *key, *pin)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "РЦОИ задан: %s. Служба станции (station serve) отправляет запечатанные пакеты сама, по мере их появления.\n", r.URL)
	return nil
}
