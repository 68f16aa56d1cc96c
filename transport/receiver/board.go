package receiver

import (
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"time"

	"giascan/transport/receiver/receipt"
)

// BoardLivePath serves the board's live part, which the page fetches
// again every few seconds: it works the same behind any receiver of a
// pair, since each answers from the shared state.
const BoardLivePath = "/board/live"

// boardEvery is how often the open board asks for its live part.
const boardEvery = 3 * time.Second

// boardView is the board as the template shows it.
type boardView struct {
	Ends, Deadline string // local times, "" if no exam end is known
	Overdue        bool
	Ended          bool
	Left           string // time left, or past, in words
	PPE            []ppeRow
	Total, Done    int
	Late           int
	Rejects        int
	Updated        string
	Recent         []rejectRow
	EveryMS        int64
	Every          string
}

type rejectRow struct{ Time, Package, Remote, Reason string }

type ppeRow struct {
	PPE      string
	Stations int
	// Incidents is the count of incident acts in the newest closing set,
	// "—" before one arrived.
	Incidents string
	Class     string // late, done or waiting
	State     string
	Rows      []pkgRow
}

type pkgRow struct {
	Package, Auditorium string
	State, Class        string
	Version             string
	Received            string
}

// clock is a local time for the board: the time of day, with the date
// when it is another day than now.
func clock(t time.Time, now time.Time) string { return clockAs(t, now, "15:04:05") }

func clockAs(t time.Time, now time.Time, layout string) string {
	if t.IsZero() {
		return ""
	}
	t, now = t.In(time.Local), now.In(time.Local)
	if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
		return t.Format(layout)
	}
	return t.Format("02.01 15:04")
}

func minutes(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	if m >= 60 {
		return fmt.Sprintf("%d ч %02d мин", m/60, m%60)
	}
	return fmt.Sprintf("%d мин", m)
}

func versionText(v int, superseded []int) string {
	if v == 0 {
		return ""
	}
	s := fmt.Sprintf("v%d", v)
	if len(superseded) > 0 {
		s += " (заменил"
		for i, o := range superseded {
			if i > 0 {
				s += ","
			}
			s += fmt.Sprintf(" v%d", o)
		}
		s += ")"
	}
	return s
}

// view turns the status into the board.
func view(st *Status) boardView {
	v := boardView{Rejects: st.Rejects, Updated: clock(st.Now, st.Now), EveryMS: boardEvery.Milliseconds(), Every: fmt.Sprintf("%g с", boardEvery.Seconds())}
	if !st.Deadline.IsZero() {
		v.Ends, v.Deadline = clockAs(st.Ends, st.Now, "15:04"), clockAs(st.Deadline, st.Now, "15:04")
		v.Overdue, v.Ended = st.Now.After(st.Deadline), st.Now.After(st.Ends)
		if v.Overdue {
			v.Left = "срок прошёл " + minutes(st.Now.Sub(st.Deadline)) + " назад"
		} else {
			v.Left = "осталось " + minutes(st.Deadline.Sub(st.Now))
		}
	}
	for _, rj := range st.Recent {
		pkg := rj.Package
		if rj.Version > 0 {
			pkg += fmt.Sprintf(" v%d", rj.Version)
		}
		v.Recent = append(v.Recent, rejectRow{Time: clock(rj.Time, st.Now), Package: pkg, Remote: rj.Remote, Reason: rj.Reason})
	}
	for _, p := range st.PPE {
		row := ppeRow{PPE: p.PPE, Stations: p.Stations, Class: "waiting", State: "ожидаются пакеты", Incidents: "—"}
		if p.Incidents != nil {
			row.Incidents = fmt.Sprint(*p.Incidents)
		}
		owed := map[string]bool{}
		if p.Progress != nil {
			v.Total++
			for _, x := range p.Expected {
				owed[x.Package] = true
				aud := x.Auditorium
				if aud == "" {
					aud = "итоговый комплект"
				}
				r := pkgRow{Package: x.Package, Auditorium: aud, Version: versionText(x.Version, x.Superseded), Received: clock(x.Received, st.Now)}
				switch {
				case x.Arrived && x.Late:
					r.State, r.Class = "принят с опозданием", "arrived-late"
				case x.Arrived:
					r.State, r.Class = "принят", "arrived"
				case x.Late:
					r.State, r.Class = "нет — срок прошёл", "missing-late"
				default:
					r.State, r.Class = "ещё не пришёл", "missing"
				}
				row.Rows = append(row.Rows, r)
			}
			switch {
			case p.Complete:
				v.Done++
				row.Class, row.State = "done", "все пакеты приняты"
			case p.Late:
				v.Late++
				row.Class, row.State = "late", fmt.Sprintf("опаздывает: нет %d из %d", len(p.Missing), len(p.Expected))
			default:
				row.State = fmt.Sprintf("нет %d из %d", len(p.Missing), len(p.Expected))
			}
		}
		// Packages the exam does not list (another exam, or sent before
		// the exam file was imported), newest version with the ones it replaced.
		byPkg := map[string][]receipt.Receipt{}
		var extra []string
		for _, rc := range p.Packages {
			if !owed[rc.Package] {
				if byPkg[rc.Package] == nil {
					extra = append(extra, rc.Package)
				}
				byPkg[rc.Package] = append(byPkg[rc.Package], rc)
			}
		}
		slices.Sort(extra)
		for _, id := range extra {
			rcs := byPkg[id]
			last := rcs[len(rcs)-1]
			var older []int
			for _, rc := range rcs[:len(rcs)-1] {
				older = append(older, rc.Version)
			}
			row.Rows = append(row.Rows, pkgRow{Package: id, Auditorium: "—", State: "принят, экзамен его не ждёт", Class: "extra",
				Version: versionText(last.Version, older), Received: clock(last.Received, st.Now)})
		}
		if p.Progress == nil && len(p.Packages) > 0 {
			row.State = "экзамен не импортирован"
		}
		v.PPE = append(v.PPE, row)
	}
	return v
}

var boardTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="ru"><head><meta charset="utf-8">
<title>РЦОИ: приём пакетов</title>
<style>
body{font-family:"DejaVu Sans",sans-serif;margin:1.5em;color:#222}
h1{font-size:1.5em;margin:0 0 .4em}
h2{font-size:1.15em;margin:1.2em 0 .4em}
#summary{margin:.5em 0 1em;font-size:1.05em}
#summary .overdue{color:#b00020;font-weight:bold}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #bbb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eee}
tr.ppe td.ppe{font-weight:bold;white-space:nowrap}
tr.late td.ppe,tr.late td.state-ppe{background:#d32f2f;color:#fff}
tr.done td.ppe,tr.done td.state-ppe{background:#c8e6c9}
tr.waiting td.ppe,tr.waiting td.state-ppe{background:#fff8e1}
td.missing-late{background:#ffcdd2;color:#b00020;font-weight:bold}
td.arrived-late{background:#ffe0b2}
td.arrived{color:#1b5e20}
td.extra{color:#555}
code{font-size:.9em}
#updated{color:#666;font-size:.9em}
#stale{color:#b00020;display:none}
</style></head><body>
<h1>Приём пакетов РЦОИ</h1>
<p><a href="` + DocumentsPath + `" id="documents-link">Акты и вложения принятых пакетов</a></p>
<div id="live">{{template "live" .}}</div>
<p id="updated">Обновляется само каждые {{.Every}}. <span id="stale">Нет связи с приёмником — показано последнее известное состояние.</span></p>
<script>
(function(){
  const live=document.getElementById('live'), stale=document.getElementById('stale');
  async function refresh(){
    try{
      const r=await fetch('` + BoardLivePath + `',{cache:'no-store'});
      if(!r.ok) throw new Error(r.status);
      live.innerHTML=await r.text();
      stale.style.display='none';
    }catch(e){stale.style.display='inline';}
  }
  setInterval(refresh,{{.EveryMS}});
})();
</script>
</body></html>
{{define "live"}}<div id="summary">
{{if .Deadline}}Экзамен {{if .Ended}}закончился{{else}}заканчивается{{end}} в {{.Ends}}; срок сдачи пакетов — {{.Deadline}}, <span class="{{if .Overdue}}overdue{{end}}" id="left">{{.Left}}</span>.<br>{{else}}Время окончания экзамена не задано: срок сдачи не отслеживается.<br>{{end}}
ППЭ: {{.Total}}, сдали всё: <b id="done">{{.Done}}</b>, опаздывают: <b id="late">{{.Late}}</b>. Отказано в приёме: {{.Rejects}}. Состояние на {{.Updated}}.
</div>
{{if .PPE}}<table id="board">
<tr><th>ППЭ</th><th>Станций</th><th>Актов о нештатных ситуациях</th><th>Итог</th><th>Пакет</th><th>Аудитория</th><th>Состояние</th><th>Версия</th><th>Принят</th></tr>
{{range .PPE}}{{$p := .}}{{$n := len .Rows}}{{if eq $n 0}}<tr class="ppe {{.Class}}" data-ppe="{{.PPE}}"><td class="ppe">{{.PPE}}</td><td>{{.Stations}}</td><td class="incidents">{{.Incidents}}</td><td class="state-ppe">{{.State}}</td><td colspan="5">пакетов нет</td></tr>
{{else}}{{range $i, $r := .Rows}}<tr class="ppe {{$p.Class}}" data-ppe="{{$p.PPE}}" data-package="{{$r.Package}}">{{if eq $i 0}}<td class="ppe" rowspan="{{$n}}">{{$p.PPE}}</td><td rowspan="{{$n}}">{{$p.Stations}}</td><td class="incidents" rowspan="{{$n}}">{{$p.Incidents}}</td><td class="state-ppe" rowspan="{{$n}}">{{$p.State}}</td>{{end}}<td><code>{{$r.Package}}</code></td><td>{{$r.Auditorium}}</td><td class="{{$r.Class}}">{{$r.State}}</td><td>{{$r.Version}}</td><td>{{$r.Received}}</td></tr>
{{end}}{{end}}{{end}}</table>{{else}}<p>Ни одной станции и ни одного ожидаемого пакета: зарегистрируйте станции и импортируйте файл экзамена.</p>{{end}}
{{if .Recent}}<h2>Последние отказы в приёме</h2>
<table id="rejects"><tr><th>Когда</th><th>Пакет (как назван)</th><th>Откуда</th><th>Причина</th></tr>
{{range .Recent}}<tr><td>{{.Time}}</td><td><code>{{.Package}}</code></td><td>{{.Remote}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>{{end}}
{{end}}`))

func (r *Receiver) serveBoard(w http.ResponseWriter, req *http.Request) {
	r.renderBoard(w, req, "page")
}

func (r *Receiver) serveBoardLive(w http.ResponseWriter, req *http.Request) {
	r.renderBoard(w, req, "live")
}

func (r *Receiver) renderBoard(w http.ResponseWriter, req *http.Request, name string) {
	st, err := r.Status(req.Context())
	if err != nil {
		http.Error(w, "состояние приёма не читается: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := boardTmpl.ExecuteTemplate(w, name, view(st)); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
