package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"giascan/forms"
	"giascan/station"
	"giascan/station/exam"
	"giascan/station/ops"
	"giascan/station/reconcile"
	"giascan/station/store"
	"giascan/station/users"
)

// pageData is what every page template gets.
type pageData struct {
	Title     string
	Session   *session
	CSRF      string // the login form's token; signed-in pages use Session.csrf
	Error     string
	Info      string
	Flash     string
	CanImport bool
	Data      any
}

// Token is the CSRF token the page's forms carry.
func (d pageData) Token() string {
	if d.Session != nil {
		return d.Session.csrf
	}
	return d.CSRF
}

// CanScan tells whether the signed-in person may use the scanning screen.
func (d pageData) CanScan() bool {
	return d.Session != nil && users.Can(d.Session.role, users.Scan)
}

// CanReview tells whether the signed-in person may use the review queue.
func (d pageData) CanReview() bool {
	return d.Session != nil && users.Can(d.Session.role, users.Fix)
}

// CanDeliver tells whether the signed-in person may set the РЦОИ and the
// keys and follow the delivery.
func (d pageData) CanDeliver() bool {
	return d.Session != nil && users.Can(d.Session.role, users.Deliver)
}

// CanManageUsers tells whether the signed-in person manages accounts.
func (d pageData) CanManageUsers() bool {
	return d.Session != nil && users.Can(d.Session.role, users.ManageUsers)
}

// CanAudit tells whether the signed-in person may read the audit log.
func (d pageData) CanAudit() bool {
	return d.Session != nil && users.Can(d.Session.role, users.ViewAuditLog)
}

// CanConfirmForm tells whether the signed-in person may confirm the
// ППЭ-13-02-МАШ values.
func (d pageData) CanConfirmForm() bool {
	return d.Session != nil && users.Can(d.Session.role, users.ConfirmForm)
}

// Login and RoleName let templates show who is signed in.
func (d pageData) Login() string {
	if d.Session == nil {
		return ""
	}
	return d.Session.login
}

// RoleName is the Russian name of the signed-in person's role.
func (d pageData) RoleName() string {
	if d.Session == nil {
		return ""
	}
	return d.Session.role.Name()
}

var funcs = template.FuncMap{
	"num":     numRU,
	"fmtTime": fmtTime,
	"size":    sizeRU,
	"clock":   durationClock,
}

// sizeRU writes a size in bytes as people read it: «720 КБ», «1,4 МБ».
func sizeRU(n int64) string {
	switch {
	case n < 0:
		return "неизвестно"
	case n < 1<<10:
		return strconv.FormatInt(n, 10) + " Б"
	case n < 1<<20:
		return numRU(math.Round(float64(n)/(1<<10)*10)/10) + " КБ"
	case n < 1<<30:
		return numRU(math.Round(float64(n)/(1<<20)*10)/10) + " МБ"
	}
	return numRU(math.Round(float64(n)/(1<<30)*10)/10) + " ГБ"
}

// fmtTime writes a time of the lifecycle in the station's local time.
func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.Local().Format("02.01.2006 15:04")
}

// parseTemplates parses each page together with the layout.
func parseTemplates() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

func (s *Server) render(c echo.Context, status int, page string, d pageData) error {
	t, ok := s.pages[page]
	if !ok {
		return fmt.Errorf("web: no page %q", page)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return fmt.Errorf("web: page %s: %w", page, err)
	}
	return c.HTMLBlob(status, b.Bytes())
}

// numRU writes a number the Russian way: decimal comma, one decimal.
func numRU(f float64) string {
	if f == math.Trunc(f) {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strings.Replace(strconv.FormatFloat(f, 'f', 1, 64), ".", ",", 1)
}

// dateRU turns YYYY-MM-DD into 02.01.2006.
func dateRU(iso string) string {
	t, err := time.Parse("2006-01-02", iso)
	if err != nil {
		return iso
	}
	return t.Format("02.01.2006")
}

// examView is an exam's identity for screens.
type examView struct {
	Level   int
	Subject string
	Date    string
	Region  string
	Ends    string
	PPE     int
	Auds    int
}

func viewExam(ex *exam.Exam) examView {
	subj := forms.Subjects[ex.Subject]
	if subj == "" {
		subj = "предмет " + ex.Subject
	}
	v := examView{Level: ex.Level, Subject: subj + " (" + ex.Subject + ")", Date: dateRU(ex.Date), Region: ex.Region, Ends: ex.Ends, PPE: len(ex.PPE)}
	for _, p := range ex.PPE {
		v.Auds += len(p.Auditoriums)
	}
	return v
}

// boardView is the exam board.
type boardView struct {
	Exam       *examView
	PPE        []ppeView
	Unassigned int
	Generated  string
}

type ppeView struct {
	Life     *station.PPELife
	Code     string
	Auds     []audView
	Problems int
	Deadline *deadlineView
}

type deadlineView struct {
	At        string // 15:04 or 02.01.2006 15:04
	UnixMilli int64
	Left      string // "осталось 0:42:10" or "срок истёк 0:05:00 назад"
	Overdue   bool
}

type audView struct {
	Life       *station.AuditoriumLife
	Number     string
	Status     string
	StatusName string
	Problems   int
	Bars       []barView
	Other      int
	HasPlan    bool // the ППЭ-13-02-МАШ counts are confirmed
	Reason     string
}

type barView struct {
	Name      string
	Scanned   int
	Expected  int
	Percent   float64 // 0–100, capped, for the bar's width
	Label     string  // "14 из 15 (93,3 %)"
	Over      bool    // more scanned than expected
	HasExpect bool
}

var statusNames = map[string]string{
	reconcile.StatusOpen:       "открыта",
	reconcile.StatusReconciled: "сверена",
	reconcile.StatusClosed:     "закрыта",
}

// buildBoard reads the report from the store. Without an exam the board
// says so rather than failing.
func (s *Server) buildBoard() (boardView, error) {
	now := s.now().In(s.cfg.Location)
	v := boardView{Generated: now.Format("02.01.2006 15:04")}
	ex, err := s.cfg.Store.Exam()
	if errors.Is(err, store.ErrNoExam) {
		return v, nil
	}
	if err != nil {
		return v, err
	}
	ev := viewExam(ex)
	v.Exam = &ev
	rep, err := ops.Report(s.cfg.Store)
	if err != nil {
		return v, fmt.Errorf("отчёт о сверке не построен (%v): обратитесь к техническому специалисту станции", err)
	}
	var dl *deadlineView
	if end, ok := ex.EndsAt(s.cfg.Location); ok {
		dl = deadline(end.Add(time.Hour), now)
	}
	v.Unassigned = len(rep.Unassigned)
	life, err := s.cfg.App.Life()
	if err != nil {
		return v, err
	}
	for pi, p := range rep.PPE {
		pv := ppeView{Code: p.Code, Deadline: dl}
		if pi < len(life) && life[pi].PPE == p.Code {
			pv.Life = &life[pi]
		}
		for ai, a := range p.Auditoriums {
			av := audView{Number: a.Number, Status: a.Status, StatusName: statusNames[a.Status],
				Problems: len(ops.ProblemsOf(rep, store.Place{PPE: p.Code, Auditorium: a.Number})), Other: a.Scanned.Other, HasPlan: a.Expected != nil, Reason: a.Reason}
			if pv.Life != nil && ai < len(pv.Life.Auditoriums) && pv.Life.Auditoriums[ai].Auditorium == a.Number {
				av.Life = &pv.Life.Auditoriums[ai]
			}
			var x reconcile.Counts
			if a.Expected != nil {
				x = *a.Expected
			}
			av.Bars = []barView{
				bar("БО №1", a.Scanned.BO1, x.BO1, av.HasPlan),
				bar("БО №2 лист 1", a.Scanned.BO2S1, x.BO2S1, av.HasPlan),
				bar("БО №2 лист 2", a.Scanned.BO2S2, x.BO2S2, av.HasPlan),
				bar("ДБО №2", a.Scanned.DBO2, x.DBO2, av.HasPlan),
			}
			pv.Problems += av.Problems
			pv.Auds = append(pv.Auds, av)
		}
		v.PPE = append(v.PPE, pv)
	}
	return v, nil
}

func bar(name string, scanned, expected int, has bool) barView {
	b := barView{Name: name, Scanned: scanned, Expected: expected, HasExpect: has}
	switch {
	case !has:
		b.Label = fmt.Sprintf("%d (ожидается: нет данных ППЭ-13-02-МАШ)", scanned)
	case expected == 0:
		b.Label = fmt.Sprintf("%d из 0", scanned)
		b.Over = scanned > 0
		if !b.Over {
			b.Percent = 100
		}
	default:
		p := 100 * float64(scanned) / float64(expected)
		b.Percent = math.Min(p, 100)
		b.Over = scanned > expected
		b.Label = fmt.Sprintf("%d из %d (%s %%)", scanned, expected, numRU(math.Round(p*10)/10))
	}
	return b
}

// deadline describes the one-hour limit after the exam's end.
func deadline(at, now time.Time) *deadlineView {
	d := &deadlineView{UnixMilli: at.UnixMilli(), At: at.Format("15:04")}
	if at.Year() != now.Year() || at.YearDay() != now.YearDay() {
		d.At = at.Format("02.01.2006 15:04")
	}
	left := at.Sub(now).Truncate(time.Second)
	if left >= 0 {
		d.Left = "осталось " + clock(left)
	} else {
		d.Overdue = true
		d.Left = "срок истёк " + clock(-left) + " назад"
	}
	return d
}

// clock writes a duration as Ч:ММ:СС, with days when longer.
func clock(d time.Duration) string {
	s := int64(d / time.Second)
	days := s / 86400
	s %= 86400
	t := fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	if days > 0 {
		return fmt.Sprintf("%d дн. %s", days, t)
	}
	return t
}

// problemView is one fault of a refused exam file, for the import page.
type problemView struct {
	Path string
	Msg  string
}

// examMessages turn the exam checker's messages into Russian ones. They
// match the message after the path; a message none matches is shown as
// is, so nothing is ever hidden.
var examMessages = []struct {
	re *regexp.Regexp
	ru string
}{
	{regexp.MustCompile(`^given twice$`), "ключ указан дважды"},
	{regexp.MustCompile(`^missing$`), "обязательное поле отсутствует"},
	{regexp.MustCompile(`^(.+) is a number: write the code as a string of (\d+) digits, leading zeros kept$`), "$1 — число; запишите код строкой из $2 цифр, с ведущими нулями"},
	{regexp.MustCompile(`^(.+) is not a string of (\d+) digits$`), "$1 — не строка из $2 цифр"},
	{regexp.MustCompile(`^(.+) is not (\d+) digits$`), "$1 — не $2 цифры"},
	{regexp.MustCompile(`^the exam file must be a JSON object, not (.+)$`), "файл экзамена должен быть объектом JSON, а не $1"},
	{regexp.MustCompile(`^(.+) is not a number$`), "$1 — не число"},
	{regexp.MustCompile(`^(.+): want 9 .*$`), "$1: уровень должен быть 9 (ГИА-9) или 11 (ГИА-11)"},
	{regexp.MustCompile(`^(.+) is not a known subject code$`), "$1 — неизвестный код предмета"},
	{regexp.MustCompile(`^(.+) is not a date YYYY-MM-DD$`), "$1 — не дата вида ГГГГ-ММ-ДД"},
	{regexp.MustCompile(`^(.+) is not a time HH:MM$`), "$1 — не время вида ЧЧ:ММ"},
	{regexp.MustCompile(`^(.+) is not an array of kit numbers$`), "$1 — не список номеров ИК"},
	{regexp.MustCompile(`^(.+) is not an array$`), "$1 — не список"},
	{regexp.MustCompile(`^(.+) is not an object$`), "$1 — не объект"},
	{regexp.MustCompile(`^empty: the exam needs at least one ППЭ$`), "пусто: в экзамене должен быть хотя бы один ППЭ"},
	{regexp.MustCompile(`^empty: a ППЭ needs at least one auditorium$`), "пусто: в ППЭ должна быть хотя бы одна аудитория"},
	{regexp.MustCompile(`^0000 is reserved for ППЭ-wide forms$`), "номер 0000 зарезервирован для форм всего ППЭ"},
	{regexp.MustCompile(`^(.+) is already used by (.+)$`), "$1 уже использован в $2"},
	{regexp.MustCompile(`^(.+) is already planned at (.+)$`), "$1 уже назначен в $2"},
	{regexp.MustCompile(`^(.+) means "no kit" and cannot be planned$`), "$1 означает «нет ИК» и не может быть назначен"},
	{regexp.MustCompile(`^not valid JSON: unexpected end of file$`), "файл не является корректным JSON: неожиданный конец файла"},
	{regexp.MustCompile(`^not valid JSON near byte (\d+): .*$`), "файл не является корректным JSON (около байта $1)"},
	{regexp.MustCompile(`^not valid JSON: data after the exam object \(byte (\d+)\)$`), "после объекта экзамена есть лишние данные (байт $1)"},
	{regexp.MustCompile(`^nested deeper than (\d+) levels at (.+)$`), "вложенность глубже $1 уровней в $2"},
	{regexp.MustCompile(`^and (\d+) more problems$`), "и ещё ошибок: $1"},
}

// jsonWords are the checker's names of JSON values inside messages.
var jsonWords = strings.NewReplacer("an array", "список", "an object", "объект")

func translateProblems(err error) []problemView {
	var inv *exam.InvalidError
	if !errors.As(err, &inv) {
		return []problemView{{Msg: err.Error()}}
	}
	out := make([]problemView, 0, len(inv.Problems))
	for _, p := range inv.Problems {
		out = append(out, problemView{Path: p.Path, Msg: translate(p.Msg)})
	}
	return out
}

func translate(msg string) string {
	for _, m := range examMessages {
		if m.re.MatchString(msg) {
			return jsonWords.Replace(m.re.ReplaceAllString(msg, m.ru))
		}
	}
	return msg
}
