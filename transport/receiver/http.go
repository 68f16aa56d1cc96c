package receiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tus/tusd/v2/pkg/filestore"
	"github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
	expslog "golang.org/x/exp/slog"
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
// DIR/uploads, so a restarted receiver resumes them where they stopped.
// Completed uploads that were never checked (the receiver stopped in
// between) are checked here first.
func (r *Receiver) Handler(ctx context.Context, log *slog.Logger) (http.Handler, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	dir := filepath.Join(r.dir, UploadsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	if err := r.recover(ctx, dir, log); err != nil {
		return nil, err
	}
	composer := handler.NewStoreComposer()
	filestore.New(dir).UseIn(composer)
	// One receiver process owns DIR; an in-memory lock is enough and, unlike
	// lock files, leaves nothing stale behind a crash.
	memorylocker.New().UseIn(composer)
	tus, err := handler.NewHandler(handler.Config{
		StoreComposer:        composer,
		BasePath:             UploadPath,
		MaxSize:              MaxPackageSize,
		DisableDownload:      true,
		DisableConcatenation: true,
		Cors:                 &handler.CorsConfig{Disable: true},
		Logger:               expslog.New(expslog.NewTextHandler(io.Discard, nil)),
		PreUploadCreateCallback: func(ev handler.HookEvent) (handler.HTTPResponse, handler.FileInfoChanges, error) {
			sig, err := signature(ev.Upload.MetaData)
			if err == nil {
				err = r.CheckUpload(sig, ev.Upload.Size)
			}
			if err != nil {
				return handler.HTTPResponse{}, handler.FileInfoChanges{}, r.refuse(sig, ev.HTTPRequest.RemoteAddr, err, log)
			}
			return handler.HTTPResponse{}, handler.FileInfoChanges{}, nil
		},
		PreFinishResponseCallback: func(ev handler.HookEvent) (handler.HTTPResponse, error) {
			acc, err := r.finish(ev.Context, ev.Upload, ev.HTTPRequest.RemoteAddr, log)
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
	mux := http.NewServeMux()
	mux.Handle(UploadPath, http.StripPrefix(strings.TrimSuffix(UploadPath, "/"), tus))
	mux.HandleFunc("GET "+ReceiptPath+"{package}/{version}", r.serveReceipt)
	mux.HandleFunc("GET /status.json", r.serveStatus)
	mux.HandleFunc("GET "+ExamPath, r.serveExam)
	mux.HandleFunc("GET /{$}", r.serveBoard)
	return mux, nil
}

func signature(meta handler.MetaData) ([]byte, error) {
	s, ok := meta[MetaSignature]
	if !ok || s == "" {
		return nil, refused("upload without its signature (metadata %q)", MetaSignature)
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
// store; refused, the reason is in the rejects log.
func (r *Receiver) finish(ctx context.Context, up handler.FileInfo, remote string, log *slog.Logger) (*Accepted, error) {
	path := up.Storage[filestore.StorageKeyPath]
	sig, err := signature(up.MetaData)
	var acc *Accepted
	if err == nil {
		var ct []byte
		ct, err = os.ReadFile(path)
		if err != nil {
			err = fmt.Errorf("upload %s: %w", up.ID, err)
		} else {
			acc, err = r.Accept(ctx, sig, ct)
		}
	}
	if err != nil {
		if errors.Is(err, ErrRefused) {
			removeUpload(path, up.Storage[filestore.StorageKeyInfoPath])
		}
		return nil, r.refuse(sig, remote, err, log)
	}
	log.Info("accepted", "ppe", acc.Receipt.PPE, "package", acc.Receipt.Package, "version", acc.Receipt.Version, "repeated", acc.Repeated)
	removeUpload(path, up.Storage[filestore.StorageKeyInfoPath])
	return acc, nil
}

func removeUpload(path, info string) {
	os.Remove(path)
	os.Remove(info)
}

// recover checks uploads that were complete when the receiver stopped but
// had not been checked, so the station finds their receipt.
func (r *Receiver) recover(ctx context.Context, dir string, log *slog.Logger) error {
	infos, err := filepath.Glob(filepath.Join(dir, "*.info"))
	if err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	for _, p := range infos {
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("uploads: %w", err)
		}
		var up handler.FileInfo
		if err := json.Unmarshal(data, &up); err != nil {
			log.Warn("unreadable upload info", "file", p, "err", err)
			continue
		}
		bin := strings.TrimSuffix(p, ".info")
		fi, err := os.Stat(bin)
		if err != nil || fi.Size() != up.Size || up.Size == 0 {
			continue // still in progress: the station resumes it
		}
		up.Storage = map[string]string{filestore.StorageKeyPath: bin, filestore.StorageKeyInfoPath: p}
		if _, err := r.finish(ctx, up, "", log); err != nil {
			log.Warn("completed upload", "id", up.ID, "err", err)
		}
	}
	return nil
}

func (r *Receiver) serveReceipt(w http.ResponseWriter, req *http.Request) {
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

var board = template.Must(template.New("board").Parse(`<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10">
<title>РЦОИ: приём пакетов</title>
<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 8px}</style>
</head><body><h1>Приём пакетов</h1>
<p>Отказов: {{.Rejects}}</p>
{{range .PPE}}<h2>ППЭ {{.PPE}} <small>(станций: {{.Stations}})</small></h2>
{{if .Packages}}<table><tr><th>Пакет</th><th>Версия</th><th>Станция</th><th>Принят</th><th>Хеш манифеста</th><th>Байт</th></tr>
{{range .Packages}}<tr><td>{{.Package}}</td><td>{{.Version}}</td><td>{{.Station}}</td><td>{{.Received.Format "2006-01-02 15:04:05Z"}}</td><td><code>{{.Manifest}}</code></td><td>{{.Size}}</td></tr>
{{end}}</table>{{else}}<p>Пакетов нет.</p>{{end}}
{{end}}</body></html>
`))

func (r *Receiver) serveBoard(w http.ResponseWriter, req *http.Request) {
	st, err := r.Status(req.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	board.Execute(w, st)
}
