package receiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"
	expslog "golang.org/x/exp/slog"

	"giascan/transport/enrol"
)

// The HTTP protocol between station and РЦОИ.
//
//   - POST/HEAD/PATCH under UploadPath: a tus 1.0 upload of the .tar.age
//     ciphertext. Its Upload-Metadata carries "sig", the whole .sig file:
//     signature and ciphertext travel together, so the receiver can refuse
//     an unregistered station before a byte of ciphertext is sent, and an
//     upload is never orphaned from its signature.
//   - The PATCH that completes the upload answers only once the package
//     is checked: 204 with ReceiptHeader naming the receipt, or 422 with
//     the reason it was refused.
//   - GET /receipts/{package}/{version}: the signed receipt file, or 404.
//   - GET / (HTML) and GET /status.json: what arrived, per ППЭ.
const (
	UploadPath    = "/uploads/"
	ReceiptPath   = "/receipts/"
	MetaSignature = "sig"
	ReceiptHeader = "Giascan-Receipt"
)

// Handler serves the receiver's HTTP API. Uploads in progress live in
// DIR/uploads, or in the bucket of r.Uploads, so a restarted receiver, or
// another one sharing the bucket, resumes them where they stopped.
// Completed uploads that were never checked (the receiver stopped in
// between) are checked here first. The expiry of abandoned uploads runs
// until ctx is done.
//
// Every station request is signed with the station's key
// (transport/stationauth); people's pages need an account of r.People.
func (r *Receiver) Handler(ctx context.Context, log *slog.Logger) (http.Handler, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	store, dir, err := openUploads(r.Uploads, r.dir)
	if err != nil {
		return nil, err
	}
	d := newDoor(store, dir, r.Limits, r.coord, r.now, log)
	if err := d.load(ctx); err != nil {
		return nil, err
	}
	if err := r.recover(ctx, d, log); err != nil {
		return nil, err
	}
	composer := handler.NewStoreComposer()
	composer.UseCore(d)
	// The coordinator's locks: in memory for one receiver, the database's
	// for several; unlike lock files, neither leaves anything stale
	// behind a crash.
	composer.UseLocker(&tusLocker{c: r.coord})
	tus, err := handler.NewHandler(handler.Config{
		StoreComposer:        composer,
		BasePath:             UploadPath,
		MaxSize:              MaxPackageSize,
		DisableDownload:      true,
		DisableConcatenation: true,
		// No one may delete an upload: the owner has no need to, and
		// anyone else must not.
		DisableTermination: true,
		Cors:               &handler.CorsConfig{Disable: true},
		Logger:             expslog.New(expslog.NewTextHandler(io.Discard, nil)),
		PreUploadCreateCallback: func(ev handler.HookEvent) (handler.HTTPResponse, handler.FileInfoChanges, error) {
			sig, err := signature(ev.Upload.MetaData)
			if err == nil {
				err = r.admit(sig, ev.Upload, stationOf(ev.Context))
			}
			if err != nil {
				return handler.HTTPResponse{}, handler.FileInfoChanges{}, r.refuse(sig, ev.HTTPRequest.RemoteAddr, err, log)
			}
			return handler.HTTPResponse{}, handler.FileInfoChanges{}, nil
		},
		PreFinishResponseCallback: func(ev handler.HookEvent) (handler.HTTPResponse, error) {
			acc, err := r.finish(ev.Context, d, ev.Upload, ev.HTTPRequest.RemoteAddr, log)
			if err != nil {
				return handler.HTTPResponse{}, err
			}
			return handler.HTTPResponse{Header: handler.HTTPHeader{
				ReceiptHeader: ReceiptPath + acc.Receipt.Package + "/" + strconv.Itoa(acc.Receipt.Version),
			}}, nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("tus handler: %w", err)
	}
	go d.run(ctx)
	mux := http.NewServeMux()
	mux.Handle(UploadPath, r.uploadsDoor(d, http.StripPrefix(strings.TrimSuffix(UploadPath, "/"), tus), log))
	mux.HandleFunc("GET "+ReceiptPath+"{package}/{version}", r.serveReceipt)
	mux.HandleFunc("GET /status.json", r.person(r.serveStatus))
	mux.HandleFunc("GET "+ExamPath, r.serveExam)
	mux.HandleFunc("GET /{$}", r.person(r.serveBoard))
	mux.HandleFunc("GET "+BoardLivePath, r.person(r.serveBoardLive))
	mux.HandleFunc("GET "+DocumentsPath, r.person(r.serveDocuments))
	mux.HandleFunc("GET "+DocumentPath, r.person(r.serveDocument))
	mux.HandleFunc("POST "+enrol.Path, r.serveEnrol(log))
	return mux, nil
}

// admit is the check at the door of a new upload, before a byte of it is
// stored: the signature file verifies with a registered station's key,
// the station sending it is that station, the upload's length is the
// signed one, and the package is one of the station's ППЭ.
func (r *Receiver) admit(sig []byte, up handler.FileInfo, sender string) error {
	st, station, err := r.verifyStatement(sig)
	if err != nil {
		return err
	}
	switch {
	case sender != station.Key:
		return refused("%s v%d подписан станцией %s, а отправлен станцией %s: станция отправляет только свои пакеты", st.Package, st.Version, station.Key, sender)
	case up.SizeIsDeferred || up.Size != st.Size:
		return refused("%s v%d: объявлено %d байт, а подписано %d: отправьте пакет заново", st.Package, st.Version, up.Size, st.Size)
	case st.Size <= 0 || st.Size > MaxPackageSize:
		return refused("%s v%d: %d байт — больше наибольшего размера пакета (%d)", st.Package, st.Version, st.Size, int64(MaxPackageSize))
	}
	if ppe := ppeOf(st.Package); ppe != station.PPE {
		return refused("%s v%d — пакет ППЭ %s, а подписавшая его станция зарегистрирована для ППЭ %s: проверьте экзамен и регистрацию станции", st.Package, st.Version, ppe, station.PPE)
	}
	return nil
}

// ppeOf is the ППЭ a package id names (level-region-ППЭ-…, see
// pkg.PackageID), or "".
func ppeOf(id string) string {
	parts := strings.Split(id, "-")
	if !rePackageID.MatchString(id) || len(parts) < 3 {
		return ""
	}
	return parts[2]
}

// uploadsDoor lets only registered stations use the upload endpoint, and
// each only on its own uploads.
func (r *Receiver) uploadsDoor(d *door, next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		st, err := r.authStation(req)
		if err != nil {
			log.Warn("unauthenticated upload request", "remote", req.RemoteAddr, "method", req.Method, "err", err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if id := strings.Trim(strings.TrimPrefix(req.URL.Path, UploadPath), "/"); id != "" {
			owner, err := d.owner(req.Context(), id)
			if err != nil {
				log.Error("upload owner", "id", id, "err", err)
				http.Error(w, "состояние загрузок недоступно", http.StatusServiceUnavailable)
				return
			}
			if owner != "" && owner != st.Key {
				log.Warn("upload of another station", "remote", req.RemoteAddr, "method", req.Method, "id", id, "station", st.Key)
				http.Error(w, "эта загрузка принадлежит другой станции", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, req.WithContext(withStation(req.Context(), st.Key)))
	})
}

func signature(meta handler.MetaData) ([]byte, error) {
	s, ok := meta[MetaSignature]
	if !ok || s == "" {
		return nil, refused("загрузка без подписи пакета (поле %q): обновите станцию", MetaSignature)
	}
	return []byte(s), nil
}

// refuse logs a refusal and turns it into the tus error the station sees.
// The receiver's own failures are 500s: the station retries those.
func (r *Receiver) refuse(sig []byte, remote string, err error, log *slog.Logger) error {
	if !errors.Is(err, ErrRefused) {
		log.Error("upload", "err", err)
		return handler.NewError("ERR_RECEIVER", err.Error(), http.StatusInternalServerError)
	}
	log.Warn("refused", "remote", remote, "reason", err)
	if lerr := r.LogReject(sig, remote, err); lerr != nil {
		log.Error("rejects log", "err", lerr)
		return handler.NewError("ERR_RECEIVER", lerr.Error(), http.StatusInternalServerError)
	}
	return handler.NewError("ERR_PACKAGE_REFUSED", err.Error(), http.StatusUnprocessableEntity)
}

// finish checks a completed upload and removes it: accepted, it is in the
// store; refused, the reason is in the rejects log. The ciphertext's hash,
// taken as it arrived, is compared with the signed one before the upload
// is read again: a body that is not the signed one costs no decryption.
// Acceptance streams the upload from the tus store, never holding it.
func (r *Receiver) finish(ctx context.Context, d *door, up handler.FileInfo, remote string, log *slog.Logger) (*Accepted, error) {
	sig, err := signature(up.MetaData)
	var acc *Accepted
	if err == nil {
		acc, err = r.finishChecked(ctx, d, up, sig)
	}
	if err != nil {
		if errors.Is(err, ErrRefused) {
			d.remove(ctx, up.ID)
		}
		return nil, r.refuse(sig, remote, err, log)
	}
	log.Info("accepted", "ppe", acc.Receipt.PPE, "package", acc.Receipt.Package, "version", acc.Receipt.Version, "repeated", acc.Repeated)
	d.remove(ctx, up.ID)
	return acc, nil
}

func (r *Receiver) finishChecked(ctx context.Context, d *door, up handler.FileInfo, sig []byte) (*Accepted, error) {
	st, station, err := r.verifyStatement(sig)
	if err != nil {
		return nil, err
	}
	sum, err := d.sum(ctx, up)
	if err != nil {
		return nil, fmt.Errorf("upload %s: %w", up.ID, err)
	}
	if sum != st.Ciphertext || up.Size != st.Size {
		return nil, refused("шифротекст пакета %s v%d не тот, что подписан: %d байт с SHA-256 %s, а подписаны %d байт с %s; отправьте пакет заново",
			st.Package, st.Version, up.Size, sum, st.Size, st.Ciphertext)
	}
	u, err := d.inner.GetUpload(ctx, up.ID)
	if err != nil {
		return nil, fmt.Errorf("upload %s: %w", up.ID, err)
	}
	src := func(ctx context.Context) (io.ReadCloser, error) {
		rd, err := u.GetReader(ctx)
		if err != nil {
			return nil, fmt.Errorf("upload %s: %w", up.ID, err)
		}
		return rd, nil
	}
	return r.accept(ctx, sig, st, station, src)
}

// recover checks uploads that were complete when the receiver stopped but
// had not been checked, so the station finds their receipt. One another
// receiver is checking right now is locked, and left to it.
func (r *Receiver) recover(ctx context.Context, d *door, log *slog.Logger) error {
	ids, err := d.coord.Idle(ctx, r.now().Add(100*365*24*time.Hour))
	if err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	for _, id := range ids {
		lctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		unlock, err := d.coord.Lock(lctx, "upload/"+id)
		cancel()
		if err != nil {
			continue
		}
		r.recoverOne(ctx, d, id, log)
		unlock()
	}
	return nil
}

func (r *Receiver) recoverOne(ctx context.Context, d *door, id string, log *slog.Logger) {
	if _, ok, err := d.coord.Upload(ctx, id); err != nil || !ok {
		return // finished meanwhile by another receiver
	}
	u, err := d.inner.GetUpload(ctx, id)
	if err != nil {
		log.Warn("unreadable upload", "id", id, "err", err)
		return
	}
	up, err := u.GetInfo(ctx)
	if err != nil {
		log.Warn("unreadable upload info", "id", id, "err", err)
		return
	}
	if up.Offset != up.Size || up.Size == 0 {
		return // still in progress: the station resumes it
	}
	up.ID = id
	if _, err := r.finish(ctx, d, up, "", log); err != nil {
		log.Warn("completed upload", "id", up.ID, "err", err)
	}
}

func (r *Receiver) serveReceipt(w http.ResponseWriter, req *http.Request) {
	caller, ok := r.who(w, req)
	if !ok {
		return
	}
	// A station sees the receipts of its own ППЭ only.
	if caller.Key != "" && ppeOf(req.PathValue("package")) != caller.PPE {
		http.Error(w, "квитанции другого ППЭ станции не выдаются", http.StatusForbidden)
		return
	}
	v, err := strconv.Atoi(req.PathValue("version"))
	if err != nil || v < 1 {
		http.Error(w, "bad version", http.StatusBadRequest)
		return
	}
	data, err := r.Receipt(req.Context(), req.PathValue("package"), v)
	if errors.Is(err, fs.ErrNotExist) {
		http.Error(w, "no receipt", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(data)
}

func (r *Receiver) serveStatus(w http.ResponseWriter, req *http.Request) {
	st, err := r.Status(req.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(st)
}
