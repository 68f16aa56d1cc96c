package users

import "strings"

// Role is what a person does at the station; it decides what they may do.
type Role string

// The roles of the station.
const (
	Operator   Role = "operator"   // оператор сканирования (ППОИ)
	Technician Role = "technician" // технический специалист ППЭ
	Head       Role = "head"       // руководитель ППЭ / ППОИ
	Admin      Role = "admin"      // администратор станции
)

// Roles lists every role in the order screens show them.
var Roles = []Role{Operator, Technician, Head, Admin}

var roleNames = map[Role]string{
	Operator:   "оператор сканирования",
	Technician: "технический специалист",
	Head:       "руководитель ППЭ/ППОИ",
	Admin:      "администратор",
}

// Valid tells whether r is one of Roles.
func (r Role) Valid() bool { _, ok := roleNames[r]; return ok }

// Name returns the role's Russian name for screens.
func (r Role) Name() string {
	if n, ok := roleNames[r]; ok {
		return n
	}
	return string(r)
}

// RoleList returns the role keys as one comma-separated line, for messages.
func RoleList() string {
	s := make([]string, len(Roles))
	for i, r := range Roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// Permission is one kind of action a person may be allowed.
type Permission string

// The permissions the station checks. Every handler that changes state or
// shows something restricted asks Can with one of these.
const (
	ViewBoard    Permission = "board.view"        // see the exam board
	ImportExam   Permission = "exam.import"       // import the exam file
	ReplaceExam  Permission = "exam.replace"      // replace the exam once pages are scanned, with a reason
	Scan         Permission = "scan"              // scan blanks
	Fix          Permission = "fix"               // correct pages, review values
	CloseAud     Permission = "auditorium.close"  // close (package) an auditorium
	Reopen       Permission = "auditorium.reopen" // open a closed auditorium again, with a reason
	Deliver      Permission = "delivery"          // send packages, export them, set the РЦОИ
	SignProtocol Permission = "protocol.sign"     // sign the ППЭ-15 protocol
	ConfirmForm  Permission = "form1302.confirm"  // confirm the ППЭ-13-02-МАШ values
	WriteActs    Permission = "acts.write"        // write incident acts, make the acceptance act and the list of removed participants
	SignActs     Permission = "acts.sign"         // sign incident acts
	ManageUsers  Permission = "users.manage"      // add and list accounts
	ViewAuditLog Permission = "audit.view"        // read the audit log
)

// matrix is the station's role matrix, the one place that says who may do
// what. A permission absent here is allowed to nobody.
var matrix = map[Permission][]Role{
	ViewBoard:    {Operator, Technician, Head, Admin},
	ImportExam:   {Head, Admin},
	ReplaceExam:  {Head},
	Scan:         {Operator, Technician, Head},
	Fix:          {Operator, Technician, Head},
	CloseAud:     {Operator, Technician, Head},
	Reopen:       {Head},
	Deliver:      {Technician, Head, Admin},
	SignProtocol: {Head},
	ConfirmForm:  {Head},
	WriteActs:    {Operator, Technician, Head},
	SignActs:     {Head},
	ManageUsers:  {Admin},
	ViewAuditLog: {Head, Admin},
}

// Can tells whether role r has permission p.
func Can(r Role, p Permission) bool {
	for _, x := range matrix[p] {
		if x == r {
			return true
		}
	}
	return false
}

// Matrix returns a copy of the role matrix, for documentation screens and
// tests.
func Matrix() map[Permission][]Role {
	m := make(map[Permission][]Role, len(matrix))
	for p, rs := range matrix {
		m[p] = append([]Role(nil), rs...)
	}
	return m
}
