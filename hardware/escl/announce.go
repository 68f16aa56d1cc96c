package escl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/dns/dnsmessage"

	"giascan/hardware"
)

// Announcement is how a served scanner answers DNS-SD, so that stations
// (and any AirScan client) find it on the LAN by itself.
type Announcement struct {
	Instance string   // the service instance name people see, e.g. the scanner's name
	Host     string   // the host name without ".local"; default: this computer's
	Port     int      // the eSCL server's port
	Addrs    []net.IP // the addresses to give; default: this computer's IPv4 ones
	TXT      []string // key=value pairs; see NewAnnouncement
}

// NewAnnouncement describes a served scanner as eSCL's DNS-SD TXT keys
// have it: the resource path, the model, the formats and sources.
func NewAnnouncement(dev hardware.Device, port int) Announcement {
	is := []string{}
	if slices.Contains(dev.Caps.Sources, hardware.Flatbed) {
		is = append(is, "platen")
	}
	if slices.Contains(dev.Caps.Sources, hardware.ADF) || slices.Contains(dev.Caps.Sources, hardware.Duplex) {
		is = append(is, "adf")
	}
	cs := []string{}
	for _, m := range dev.Caps.Modes {
		cs = append(cs, map[string]string{"gray": "grayscale", "color": "color", "lineart": "binary"}[m])
	}
	duplex := "F"
	if slices.Contains(dev.Caps.Sources, hardware.Duplex) {
		duplex = "T"
	}
	return Announcement{Instance: dev.Name, Port: port, TXT: []string{
		"txtvers=1", "vers=2.63", "rs=" + strings.TrimPrefix(Root, "/"), "ty=" + dev.Name,
		"UUID=" + uuidOf(dev.ID), "pdl=" + strings.Join(formats, ","), "is=" + strings.Join(is, ","),
		"cs=" + strings.Join(cs, ","), "duplex=" + duplex,
	}}
}

// Announce answers DNS-SD queries for _uscan._tcp on the mDNS group until
// ctx ends: legacy (unicast) queries get a unicast answer, others one to
// the group. It fails at once when the group cannot be joined (no
// multicast on this network), which the caller may log and go on.
func Announce(ctx context.Context, a Announcement) error {
	group, _ := net.ResolveUDPAddr("udp4", mdnsGroup)
	conn, err := net.ListenMulticastUDP("udp4", nil, group)
	if err != nil {
		return fmt.Errorf("dns-sd: joining the mDNS group: %w", err)
	}
	return serveAnnouncement(ctx, conn, group, a)
}

// serveAnnouncement answers the queries that reach conn.
func serveAnnouncement(ctx context.Context, conn *net.UDPConn, group *net.UDPAddr, a Announcement) error {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if a.Host == "" {
		h, _ := os.Hostname()
		a.Host, _, _ = strings.Cut(h, ".")
	}
	if len(a.Addrs) == 0 {
		a.Addrs = ownAddrs()
	}
	buf := make([]byte, 9000)
	for {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return ctx.Err()
			}
			return fmt.Errorf("dns-sd: %w", err)
		}
		reply, err := a.answer(buf[:n], from.Port != 5353)
		if err != nil || reply == nil {
			continue // not a question for us
		}
		to := from
		if from.Port == 5353 && group != nil {
			to = group
		}
		_, _ = conn.WriteToUDP(reply, to)
	}
}

// answer builds the reply to a query that asks for eSCL scanners, nil for
// other queries. A legacy (unicast) query gets its ID and question back.
func (a Announcement) answer(query []byte, legacy bool) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil, err
	}
	qs, err := p.AllQuestions()
	if err != nil {
		return nil, err
	}
	asked := slices.IndexFunc(qs, func(q dnsmessage.Question) bool {
		return strings.EqualFold(q.Name.String(), ServiceType) && (q.Type == dnsmessage.TypePTR || q.Type == dnsmessage.TypeALL)
	})
	if asked < 0 {
		return nil, nil
	}
	svc := dnsmessage.MustNewName(ServiceType)
	inst, err := dnsmessage.NewName(escapeLabel(a.Instance) + "." + ServiceType)
	if err != nil {
		return nil, err
	}
	host, err := dnsmessage.NewName(a.Host + ".local.")
	if err != nil {
		return nil, err
	}
	hdr := dnsmessage.Header{Response: true, Authoritative: true}
	if legacy {
		hdr.ID = h.ID
	}
	b := dnsmessage.NewBuilder(nil, hdr)
	b.EnableCompression()
	if legacy {
		_ = b.StartQuestions()
		q := qs[asked]
		q.Class &^= 1 << 15
		_ = b.Question(q)
	}
	ttl := uint32(120)
	if legacy {
		ttl = 10 // RFC 6762 §6.7
	}
	rh := func(name dnsmessage.Name) dnsmessage.ResourceHeader {
		return dnsmessage.ResourceHeader{Name: name, Class: dnsmessage.ClassINET, TTL: ttl}
	}
	_ = b.StartAnswers()
	if err := b.PTRResource(rh(svc), dnsmessage.PTRResource{PTR: inst}); err != nil {
		return nil, err
	}
	_ = b.StartAdditionals()
	if err := b.SRVResource(rh(inst), dnsmessage.SRVResource{Target: host, Port: uint16(a.Port)}); err != nil {
		return nil, err
	}
	if err := b.TXTResource(rh(inst), dnsmessage.TXTResource{TXT: a.TXT}); err != nil {
		return nil, err
	}
	for _, ip := range a.Addrs {
		if v4 := ip.To4(); v4 != nil {
			if err := b.AResource(rh(host), dnsmessage.AResource{A: [4]byte(v4)}); err != nil {
				return nil, err
			}
		}
	}
	return b.Finish()
}

// escapeLabel makes an instance name one DNS label: dots would split it
// (and not every client reads escapes), so they become spaces.
func escapeLabel(s string) string {
	s = strings.NewReplacer(".", " ", `\`, " ").Replace(s)
	if len(s) > 63 {
		s = s[:63]
	}
	return s
}

// ownAddrs are this computer's IPv4 addresses other than loopback.
func ownAddrs() []net.IP {
	var out []net.IP
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			out = append(out, n.IP)
		}
	}
	return out
}

// PortOf is the port of a listening address such as "[::]:8090".
func PortOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}
