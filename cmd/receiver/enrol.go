package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"giascan/transport/receiver"
	"giascan/transport/seal"
	"giascan/transport/tlspin"
)

// stationEnrol issues a one-time invitation file for one station of a ППЭ.
func stationEnrol(e *env, args []string) error {
	fs := flag.NewFlagSet("station enrol", flag.ContinueOnError)
	data := fs.String("data", "", "receiver data `folder`")
	ppe := fs.String("ppe", "", "the station's ППЭ, 4 digits")
	addr := fs.String("url", "", "the receiver's address as stations reach it, https://host:port")
	out := fs.String("out", "", "invitation `file` to write (default: enrol-PPE-TIME.json in the current folder)")
	valid := fs.Duration("valid", receiver.DefaultEnrolmentTTL, "how long the invitation stays valid")
	certFile := fs.String("tls-cert", "", "the TLS certificate `PEM` serve uses, when not the receiver's own")
	noPin := fs.Bool("no-pin", false, "stations trust the receiver's certificate by a CA, not by its fingerprint")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if *addr == "" {
		return badInput("укажите адрес приёмника, по которому его видят станции: --url https://host:port")
	}
	r, err := receiver.Open(*data, "")
	if err != nil {
		return err
	}
	pin := ""
	if !*noPin {
		if *certFile == "" {
			*certFile = filepath.Join(*data, receiver.TLSCertFile)
			if _, err := receiver.LoadTLS(*data, "", ""); err != nil {
				return err
			}
		}
		if pin, err = certPin(*certFile); err != nil {
			return err
		}
	}
	inv, err := r.IssueEnrolment(*ppe, *addr, pin, *valid)
	if err != nil {
		return badInput("%v", err)
	}
	if *out == "" {
		*out = fmt.Sprintf("enrol-%s-%s.json", inv.PPE, time.Now().Format("20060102-150405"))
	}
	b, _ := json.MarshalIndent(inv, "", "  ")
	if err := seal.WriteNewPrivateFile(*out, append(b, '\n')); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "приглашение для станции ППЭ %s записано в %s; действует до %s, один раз.\n"+
		"Передайте файл на станцию (station rcoi enrol). Отпечатки для сверки по телефону:\n"+
		"  ключ квитанций РЦОИ: %s\n", inv.PPE, *out, inv.Expires.Local().Format("02.01.2006 15:04"), inv.ReceiptFingerprint)
	if pin != "" {
		fmt.Fprintf(e.stdout, "  сертификат TLS приёмника: %s\n", pin)
	}
	fmt.Fprintln(e.stdout, "Отпечаток ключа станции покажут станция и `receiver station list`.")
	return nil
}

func certPin(file string) (string, error) {
	cert, err := tlsLeaf(file)
	if err != nil {
		return "", err
	}
	return tlspin.Fingerprint(cert), nil
}

// stationList shows the registered stations with their key fingerprints.
func stationList(e *env, args []string) error {
	fs := flag.NewFlagSet("station list", flag.ContinueOnError)
	data := fs.String("data", "", "receiver data `folder`")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	list, err := receiver.LoadStations(*data)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "станций нет: выдайте приглашения командой receiver station enrol")
	}
	for _, s := range list {
		fmt.Fprintf(e.stdout, "ППЭ %s  отпечаток %s  %s  с %s\n", s.PPE, fingerprint(s.Key), s.Key, s.Added.Local().Format("02.01.2006 15:04"))
	}
	return nil
}

func tlsLeaf(file string) (*x509.Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("сертификат TLS приёмника: %w", err)
	}
	blk, _ := pem.Decode(data)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("сертификат TLS приёмника %s: это не сертификат PEM", file)
	}
	return x509.ParseCertificate(blk.Bytes)
}
