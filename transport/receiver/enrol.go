package receiver

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"giascan/transport/enrol"
	"giascan/transport/seal"
)

// EnrolmentsFile lists the invitations issued to stations. It keeps only
// a hash of each one-time token, so the file gives no one a way in.
const EnrolmentsFile = "enrolments.json"

// DefaultEnrolmentTTL is how long an invitation stays valid.
const DefaultEnrolmentTTL = 7 * 24 * time.Hour

type enrolment struct {
	PPE       string    `json:"ppe"`
	TokenHash string    `json:"token_sha256"`
	Issued    time.Time `json:"issued"`
	Expires   time.Time `json:"expires"`
	Used      time.Time `json:"used,omitzero"`
	Key       string    `json:"key,omitempty"` // the station key that redeemed it
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func loadEnrolments(dir string) ([]enrolment, error) {
	data, err := os.ReadFile(filepath.Join(dir, EnrolmentsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var list []enrolment
	if err == nil {
		err = json.Unmarshal(data, &list)
	}
	if err != nil {
		return nil, fmt.Errorf("список приглашений %s не читается: %w", EnrolmentsFile, err)
	}
	return list, nil
}

func saveEnrolments(dir string, list []enrolment) error {
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, EnrolmentsFile), append(data, '\n'))
}

// IssueEnrolment makes a one-time invitation for a station of ppe to
// enrol at the receiver reachable at url, whose TLS certificate has the
// fingerprint tlsPin ("" when the station trusts it otherwise).
func (r *Receiver) IssueEnrolment(ppe, url, tlsPin string, ttl time.Duration) (*enrol.Invitation, error) {
	if len(ppe) != 4 || strings.Trim(ppe, "0123456789") != "" {
		return nil, fmt.Errorf("ППЭ %q: нужны 4 цифры", ppe)
	}
	if ttl <= 0 {
		ttl = DefaultEnrolmentTTL
	}
	secret := make([]byte, 20)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	token := strings.ToLower(base32.StdEncoding.EncodeToString(secret))
	now := r.now().UTC().Truncate(time.Second)
	inv := &enrol.Invitation{Format: enrol.Format, URL: strings.TrimSuffix(url, "/"), TLS: tlsPin, PPE: ppe, Token: token,
		Expires: now.Add(ttl), ReceiptFingerprint: seal.Fingerprint(r.ReceiptKey())}
	if _, err := enrol.ParseInvitation(mustJSON(inv)); err != nil {
		return nil, err
	}
	unlock, err := r.coord.Lock(context.Background(), "enrolments")
	if err != nil {
		return nil, err
	}
	defer unlock()
	list, err := loadEnrolments(r.dir)
	if err != nil {
		return nil, err
	}
	list = append(list, enrolment{PPE: ppe, TokenHash: tokenHash(token), Issued: now, Expires: inv.Expires})
	if err := saveEnrolments(r.dir, list); err != nil {
		return nil, err
	}
	return inv, nil
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// redeem checks an enrolment request and registers the station.
func (r *Receiver) redeem(ctx context.Context, req enrol.Request) (Station, error) {
	pub, err := seal.ParsePublicKey(req.Key)
	if err != nil {
		return Station{}, fmt.Errorf("ключ станции: %w", err)
	}
	proof, err := base64.StdEncoding.DecodeString(req.Proof)
	if err != nil || !ed25519.Verify(pub, enrol.ProofMessage(req.Token, req.Key), proof) {
		return Station{}, errors.New("подпись запроса не сходится с ключом станции")
	}
	// One redemption at a time across receivers: the invitation is spent
	// once, and the stations file is rewritten by one at a time.
	unlock, err := r.coord.Lock(ctx, "enrolments")
	if err != nil {
		return Station{}, err
	}
	defer unlock()
	list, err := loadEnrolments(r.dir)
	if err != nil {
		return Station{}, err
	}
	h := tokenHash(req.Token)
	for i := range list {
		e := &list[i]
		if e.TokenHash != h {
			continue
		}
		switch {
		case !e.Used.IsZero():
			return Station{}, fmt.Errorf("приглашение уже использовано %s: попросите у РЦОИ новое", e.Used.Local().Format("02.01.2006 15:04"))
		case r.now().After(e.Expires):
			return Station{}, errors.New("срок приглашения истёк: попросите у РЦОИ новое")
		}
		st, err := AddStation(r.dir, e.PPE, req.Key)
		if err != nil {
			return Station{}, err
		}
		e.Used, e.Key = r.now().UTC().Truncate(time.Second), st.Key
		return st, saveEnrolments(r.dir, list)
	}
	return Station{}, errors.New("такого приглашения РЦОИ не выдавал: проверьте файл приглашения")
}

// serveEnrol redeems an invitation: the station's key is registered and
// the station gets what it needs to send packages.
func (r *Receiver) serveEnrol(log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		var er enrol.Request
		if err := json.NewDecoder(io.LimitReader(req.Body, 16<<10)).Decode(&er); err != nil {
			http.Error(w, "запрос регистрации не читается", http.StatusBadRequest)
			return
		}
		st, err := r.redeem(req.Context(), er)
		if err != nil {
			log.Warn("enrolment refused", "remote", req.RemoteAddr, "err", err)
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		pub, _ := seal.ParsePublicKey(st.Key)
		resp := enrol.Response{PPE: st.PPE, Recipients: []string{r.Recipient()},
			ReceiptKey: seal.FormatPublicKey(r.ReceiptKey()), StationFingerprint: seal.Fingerprint(pub)}
		if exam, err := os.ReadFile(filepath.Join(r.dir, ExamFile)); err == nil {
			resp.Exam = exam
		}
		log.Info("station enrolled", "ppe", st.PPE, "key", st.Key, "fingerprint", resp.StationFingerprint, "remote", req.RemoteAddr)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	}
}
