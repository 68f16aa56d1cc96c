package exam

import "giascan/transport/pkg"

// OwedPackage is a package a ППЭ owes the РЦОИ for this exam.
type OwedPackage struct {
	Package    string // stable package id (pkg.PackageID)
	Auditorium string // "" for the ППЭ's closing set
}

// OwedPackages lists, per ППЭ code, the packages it owes the РЦОИ: one per
// auditorium in file order, then its closing set. The РЦОИ's receiver uses
// it to say which ППЭ is complete.
func (e *Exam) OwedPackages() map[string][]OwedPackage {
	out := map[string][]OwedPackage{}
	for _, p := range e.PPE {
		ctx := pkg.Exam{Level: e.Level, Region: e.Region, PPE: p.Code, Subject: e.Subject, Date: e.QRDate()}
		var list []OwedPackage
		for _, a := range p.Auditoriums {
			ctx.Auditorium = a.Number
			list = append(list, OwedPackage{Package: pkg.PackageID(ctx), Auditorium: a.Number})
		}
		ctx.Auditorium = ""
		out[p.Code] = append(list, OwedPackage{Package: pkg.PackageID(ctx)})
	}
	return out
}
