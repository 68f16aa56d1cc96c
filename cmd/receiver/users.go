package main

import (
	"bufio"
	"flag"
	"fmt"
	"strings"
	"time"

	"giascan/station/users"
)

// people are the РЦОИ staff accounts, kept as the station keeps its own
// (argon2id hashes in RDIR/users.json).
type people struct{ db *users.DB }

func (p people) Authenticate(login, password string) (bool, error) {
	_, ok, err := p.db.Authenticate(login, password)
	return ok, err
}

// userAdd creates an account of the РЦОИ staff, who may see the board.
func userAdd(e *env, args []string) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	data := fs.String("data", "", "receiver data `folder`")
	login := fs.String("login", "", "the account's `login`")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if *login == "" {
		return badInput("укажите логин сотрудника: --login")
	}
	if e.stdin == nil {
		return badInput("пароль читается со стандартного ввода, а он закрыт")
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	password := strings.TrimRight(line, "\r\n")
	if password == "" && err != nil {
		return badInput("введите пароль сотрудника одной строкой на стандартный ввод")
	}
	u, err := users.Open(*data).Add(*login, users.Admin, password, time.Now())
	if users.IsInput(err) {
		return badInput("%v", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "учётная запись %s создана: она открывает табло приёма\n", u.Login)
	return nil
}
