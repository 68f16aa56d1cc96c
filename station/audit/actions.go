package audit

// The audit vocabulary: every action the station records, spelt once, with
// the Russian label screens and excerpts show. The РЦОИ filters excerpts
// by these names, so a name never changes once used.
const (
	// Page corrections by an operator.
	ActionPageRescan   = "page.rescan"    // one page scanned again in place
	ActionPageReplace  = "page.replace"   // a page replaced by another scan
	ActionPageInsert   = "page.insert"    // a page inserted into a stack
	ActionPageDelete   = "page.delete"    // a page removed from a stack
	ActionPageMove     = "page.move"      // a page moved to another auditorium
	ActionPageIdentify = "page.identify"  // an unreadable page identified by its typed barcode
	ActionPageRead     = "page.recognize" // a page recognised again on request

	// Review of recognised values.
	ActionReviewConfirm = "review.confirm" // a value shown for review confirmed as read
	ActionReviewCorrect = "review.correct" // a value shown for review corrected
	ActionReviewUndo    = "review.undo"    // a confirmation or correction taken back
	ActionForm1302      = "form1302.confirm"

	// Auditoriums and their packages.
	ActionAuditoriumClose  = "auditorium.close"   // closed; with a reason when problems are left
	ActionAuditoriumReopen = "auditorium.reopen"  // opened again by the head, with a reason
	ActionPackageSeal      = "package.seal"       // a package version sealed into the outbox
	ActionAttachImport     = "attachments.import" // КЕГЭ answer files or oral-answer audio taken into an auditorium
	ActionPackageSent      = "package.delivered"  // the РЦОИ's receipt for a package verified
	ActionPackageExport    = "package.export"     // a ППЭ's packages written to removable media and read back
	ActionRCOISet          = "rcoi.set"           // the РЦОИ's address and receipt key set
	ActionKeyCreate        = "keys.create"        // the station's signing key created
	ActionKeyRecipients    = "keys.recipients"    // the РЦОИ's encryption recipients loaded

	// The ППЭ-15 protocol.
	ActionProtocolPrint = "protocol.print" // printed over the ППЭ's summary
	ActionProtocolSign  = "protocol.sign"  // signed by the head in the web interface
	ActionProtocolMatch = "protocol.match" // its signed paper copy scanned and matched

	// Acts of the ППЭ (docs/acts.md).
	ActionActAcceptance      = "act.acceptance"       // the acceptance act made and printed
	ActionActAcceptanceMatch = "act.acceptance.match" // its signed paper copy scanned and matched
	ActionActIncident        = "act.incident"         // an incident act written
	ActionActIncidentSign    = "act.incident.sign"    // an incident act signed by the head
	ActionActRemoved         = "act.removed"          // the list of removed and unfinished participants printed

	// Scanning.
	ActionSessionStart = "session.start"
	ActionSessionEnd   = "session.end"
	ActionSessionAbort = "session.abort"
	ActionScanStart    = "scan.start"
	ActionScanStop     = "scan.stop"
	ActionPageStore    = "page.store"        // a scanned page became durable
	ActionDeviceFault  = "device.fault"      // the scanner reported an event
	ActionReadiness    = "scanner.readiness" // a scanner's readiness check
	ActionPrint        = "blanks.print"      // numbered blanks or a blank form printed to PDF

	// The exam and the accounts.
	ActionExamImport    = "exam.import"
	ActionSignIn        = "user.signin"
	ActionSignOut       = "user.signout"
	ActionSignInRefused = "user.signin.refused"
	ActionAccessRefused = "access.refused"
	ActionCSRFRefused   = "csrf.refused"
	ActionUserAdd       = "user.add"
	ActionUserPassword  = "user.password"
	ActionUserDisable   = "user.disable"
	ActionUserEnable    = "user.enable"
	ActionUserUnlock    = "user.unlock"

	// The data folder and the log itself.
	ActionStoreRecover = "store.recovered" // Open cleaned up after a crash or found damage
	ActionLogRecovered = "log.recovered"   // an unfinished last line was cut off on Open
)

var labels = map[string]string{
	ActionPageRescan:         "пересканирование листа",
	ActionPageReplace:        "замена листа",
	ActionPageInsert:         "вставка листа",
	ActionPageDelete:         "удаление листа",
	ActionPageMove:           "перенос в другую аудиторию",
	ActionPageIdentify:       "ввод штрихкода вручную",
	ActionReviewConfirm:      "подтверждение значения",
	ActionReviewCorrect:      "исправление значения",
	ActionReviewUndo:         "отмена исправления значения",
	ActionPageRead:           "повторное распознавание листа",
	ActionForm1302:           "подтверждение ППЭ-13-02-МАШ",
	ActionAuditoriumClose:    "закрытие аудитории",
	ActionAuditoriumReopen:   "повторное открытие аудитории",
	ActionPackageSeal:        "запечатывание пакета",
	ActionAttachImport:       "приём файлов ответов КЕГЭ или аудиозаписей устных ответов",
	ActionPackageSent:        "получение квитанции РЦОИ",
	ActionPackageExport:      "выгрузка пакетов на съёмный носитель",
	ActionRCOISet:            "задание адреса и ключа РЦОИ",
	ActionKeyCreate:          "создание ключа станции",
	ActionKeyRecipients:      "загрузка ключей шифрования РЦОИ",
	ActionProtocolPrint:      "печать протокола ППЭ-15",
	ActionProtocolSign:       "подписание протокола ППЭ-15",
	ActionProtocolMatch:      "приём скана подписанного протокола ППЭ-15",
	ActionActAcceptance:      "составление акта приёмки-передачи",
	ActionActAcceptanceMatch: "приём скана подписанного акта приёмки-передачи",
	ActionActIncident:        "составление акта о нештатной ситуации",
	ActionActIncidentSign:    "подписание акта о нештатной ситуации руководителем",
	ActionActRemoved:         "печать списка удалённых и не закончивших участников",
	ActionSessionStart:       "начало сканирования",
	ActionSessionEnd:         "конец сканирования",
	ActionSessionAbort:       "прерывание сканирования",
	ActionScanStart:          "запуск сканирования в браузере",
	ActionScanStop:           "остановка сканирования в браузере",
	ActionPageStore:          "лист сохранён",
	ActionDeviceFault:        "событие сканера",
	ActionReadiness:          "проверка готовности сканера",
	ActionPrint:              "печать бланков",
	ActionExamImport:         "импорт экзамена",
	ActionSignIn:             "вход в систему",
	ActionSignOut:            "выход из системы",
	ActionSignInRefused:      "неудачная попытка входа",
	ActionAccessRefused:      "отказ в доступе",
	ActionCSRFRefused:        "отклонён запрос с чужой страницы",
	ActionUserAdd:            "добавление учётной записи",
	ActionUserPassword:       "смена пароля",
	ActionUserDisable:        "отключение учётной записи",
	ActionUserEnable:         "включение учётной записи",
	ActionUserUnlock:         "снятие блокировки входа",
	ActionStoreRecover:       "восстановление хранилища после сбоя",
	ActionLogRecovered:       "восстановление журнала после сбоя",
}

// Label returns the Russian label of an action, or the action itself for
// one the station does not know (an older or newer station's).
func Label(action string) string {
	if l, ok := labels[action]; ok {
		return l
	}
	return action
}
