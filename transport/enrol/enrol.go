// Package enrol is how a station joins a РЦОИ. The РЦОИ issues a one-time
// invitation file per station (receiver station enrol); with it the station
// reaches the receiver over TLS pinned to the certificate the invitation
// names, proves it holds its Ed25519 key, and gets back in one exchange
// what the operator used to copy by hand: the exam file, the РЦОИ's age
// recipients and its receipt key. The receiver registers the station's key
// for the invitation's ППЭ. Both sides show the key fingerprints, for the
// people at each end to compare by telephone.
package enrol

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"filippo.io/age"

	"giascan/transport/seal"
	"giascan/transport/tlspin"
)

// Format is the first field of an invitation file.
const Format = "giascan-enrol/v1"

// Path is the receiver's endpoint that redeems invitations.
const Path = "/enrol"

// Invitation is the one-time file the РЦОИ gives one station.
type Invitation struct {
	Format  string    `json:"format"`
	URL     string    `json:"url"`           // the receiver, https://host:port
	TLS     string    `json:"tls,omitempty"` // sha256:… of the receiver's certificate, to pin
	PPE     string    `json:"ppe"`
	Token   string    `json:"token"` // the one-time secret
	Expires time.Time `json:"expires"`
	// ReceiptFingerprint is the fingerprint of the РЦОИ's receipt key, to
	// compare with the key the receiver hands over.
	ReceiptFingerprint string `json:"receipt_fingerprint"`
}

// ParseInvitation reads an invitation file.
func ParseInvitation(data []byte) (*Invitation, error) {
	var inv Invitation
	if err := json.Unmarshal(data, &inv); err != nil || inv.Format != Format {
		return nil, errors.New("это не файл приглашения РЦОИ: получите его у РЦОИ (receiver station enrol)")
	}
	u, err := url.Parse(inv.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("в приглашении неверный адрес приёмника %q", inv.URL)
	}
	if inv.Token == "" || len(inv.PPE) != 4 {
		return nil, errors.New("приглашение повреждено: нет кода или ППЭ")
	}
	if inv.TLS != "" {
		if inv.TLS, err = tlspin.ParseFingerprint(inv.TLS); err != nil {
			return nil, err
		}
	}
	return &inv, nil
}

// Request is what the station sends to redeem an invitation.
type Request struct {
	Token string `json:"token"`
	Key   string `json:"key"`   // the station's public key, ed25519:…
	Proof string `json:"proof"` // base64 Ed25519 signature of ProofMessage
}

// ProofMessage is what the station signs to show it holds its key.
func ProofMessage(token, key string) []byte {
	return []byte(Format + "\n" + token + "\n" + key + "\n")
}

// Response is the receiver's answer to a redeemed invitation.
type Response struct {
	PPE                string   `json:"ppe"`
	Exam               []byte   `json:"exam,omitempty"` // the exam file as imported (base64), if the РЦОИ imported one
	Recipients         []string `json:"recipients"`     // age1…
	ReceiptKey         string   `json:"receipt_key"`    // ed25519:…
	StationFingerprint string   `json:"station_fingerprint"`
}

// Result is what enrolment gives the station.
type Result struct {
	PPE        string
	Exam       []byte // nil if the РЦОИ has not imported the exam yet
	Recipients []string
	ReceiptKey ed25519.PublicKey
	// StationFingerprint is the fingerprint of the key the РЦОИ registered;
	// ReceiptFingerprint that of the receipt key it handed over.
	StationFingerprint, ReceiptFingerprint string
	// Trust is how to reach the receiver from now on.
	Trust tlspin.Trust
}

// Enrol redeems the invitation with the station's key.
func Enrol(ctx context.Context, inv *Invitation, key ed25519.PrivateKey) (*Result, error) {
	if time.Now().After(inv.Expires) {
		return nil, fmt.Errorf("срок приглашения истёк %s: попросите у РЦОИ новое", inv.Expires.Local().Format("02.01.2006 15:04"))
	}
	trust := tlspin.Trust{Fingerprint: inv.TLS}
	hc, err := trust.Client()
	if err != nil {
		return nil, err
	}
	pubText := seal.FormatPublicKey(key.Public().(ed25519.PublicKey))
	body, _ := json.Marshal(Request{Token: inv.Token, Key: pubText,
		Proof: base64.StdEncoding.EncodeToString(ed25519.Sign(key, ProofMessage(inv.Token, pubText)))})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(inv.URL, "/")+Path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("приёмник РЦОИ %s недоступен: %w", inv.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("ответ приёмника РЦОИ: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("РЦОИ отказал в регистрации (HTTP %d): %s", resp.StatusCode, strings.TrimSpace(string(data)))
	}
	var out Response
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("ответ приёмника РЦОИ не читается: %w", err)
	}
	rk, err := seal.ParsePublicKey(out.ReceiptKey)
	if err != nil {
		return nil, fmt.Errorf("ключ квитанций от РЦОИ: %w", err)
	}
	res := &Result{PPE: out.PPE, Recipients: out.Recipients, ReceiptKey: rk,
		StationFingerprint: out.StationFingerprint, ReceiptFingerprint: seal.Fingerprint(rk), Trust: trust}
	switch {
	case out.PPE != inv.PPE:
		return nil, fmt.Errorf("РЦОИ зарегистрировал станцию для ППЭ %s, а приглашение было для ППЭ %s", out.PPE, inv.PPE)
	case inv.ReceiptFingerprint != "" && res.ReceiptFingerprint != inv.ReceiptFingerprint:
		return nil, fmt.Errorf("ключ квитанций от приёмника (%s) не тот, что в приглашении (%s): не пользуйтесь этим приёмником и сообщите в РЦОИ", res.ReceiptFingerprint, inv.ReceiptFingerprint)
	case out.StationFingerprint != seal.Fingerprint(key.Public().(ed25519.PublicKey)):
		return nil, fmt.Errorf("РЦОИ зарегистрировал ключ с отпечатком %s, а ключ станции — %s", out.StationFingerprint, seal.Fingerprint(key.Public().(ed25519.PublicKey)))
	case len(out.Recipients) == 0:
		return nil, errors.New("РЦОИ не передал ключей шифрования")
	}
	for _, r := range out.Recipients {
		if _, err := age.ParseX25519Recipient(r); err != nil {
			return nil, fmt.Errorf("ключ шифрования РЦОИ %q: %w", r, err)
		}
	}
	if len(out.Exam) > 0 {
		res.Exam = out.Exam
	}
	return res, nil
}
