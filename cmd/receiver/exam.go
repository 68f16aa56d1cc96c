package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"giascan/station/exam"
	"giascan/station/refusal"
	"giascan/transport/receiver"
)

// owedOf lists the packages each ППЭ of the exam owes, as the receiver
// tracks them.
func owedOf(ex *exam.Exam) receiver.Owed {
	owed := receiver.Owed{}
	for code, list := range ex.OwedPackages() {
		for _, p := range list {
			owed[code] = append(owed[code], receiver.Expected{Package: p.Package, Auditorium: p.Auditorium})
		}
	}
	return owed
}

// examImport keeps the exam file at the receiver, so that its status can
// say per ППЭ which packages are still missing, and stations can fetch it.
func examImport(e *env, args []string) error {
	fs := flag.NewFlagSet("exam import", flag.ContinueOnError)
	data := fs.String("data", "", "receiver data `folder`")
	// The file may stand before or after the flags.
	var files []string
	for {
		if err := parse(fs, args, data); err == nil || !refusal.Is(err) || fs.NArg() == 0 {
			if err != nil {
				return err
			}
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		return badInput("укажите один файл экзамена: receiver exam import --data RDIR FILE")
	}
	file := files[0]
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return badInput("файл экзамена %s не найден", file)
	}
	if err != nil {
		return fmt.Errorf("файл экзамена %s не читается: %w", file, err)
	}
	ex, err := exam.Parse(b)
	if err != nil {
		return badInput("файл экзамена не принят: %v", err)
	}
	// The exam's end is local time of the region, as the receiver's clock.
	ends, _ := ex.EndsAt(time.Local)
	if err := receiver.ImportExamEnding(*data, b, owedOf(ex), ends); err != nil {
		return err
	}
	n := 0
	for _, p := range ex.PPE {
		n += len(p.Auditoriums)
	}
	fmt.Fprintf(e.stdout, "экзамен %s (%s) принят: ППЭ %d, аудиторий %d\n", ex.Subject, ex.Date, len(ex.PPE), n)
	if !ends.IsZero() {
		fmt.Fprintf(e.stdout, "пакеты ждём до %s (через час после окончания экзамена)\n", ends.Add(receiver.DeliveryWindow).Format("02.01.2006 15:04"))
	}
	return nil
}
