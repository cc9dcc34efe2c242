package netns

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// ctTupleAttr builds a CTA_TUPLE_* attribute as the kernel dumps it.
func ctTupleAttr(typ int, src, dst string, proto uint8, sport, dport uint16) *nl.RtAttr {
	t := nl.NewRtAttr(unix.NLA_F_NESTED|typ, nil)
	ip := t.AddRtAttr(unix.NLA_F_NESTED|ctaTupleIP, nil)
	s4, d4 := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	ip.AddRtAttr(ctaIPv4Src, s4[:])
	ip.AddRtAttr(ctaIPv4Dst, d4[:])
	p := t.AddRtAttr(unix.NLA_F_NESTED|ctaTupleProto, nil)
	p.AddRtAttr(ctaProtoNum, []byte{proto})
	p.AddRtAttr(ctaProtoSrc, nl.BEUint16Attr(sport))
	p.AddRtAttr(ctaProtoDst, nl.BEUint16Attr(dport))
	return t
}

// TestCtFlowParseAndDelete: a dumped DNAT'd flow is read back (addresses, ports, id), and
// its delete names it by the tuple asked for, byte for byte as dumped, with the id.
func TestCtFlowParseAndDelete(t *testing.T) {
	orig := ctTupleAttr(ctaTupleOrig, "192.0.2.6", "192.0.2.5", unix.IPPROTO_TCP, 55600, 18090)
	reply := ctTupleAttr(ctaTupleReply, "10.88.0.11", "192.0.2.6", unix.IPPROTO_TCP, 80, 55600)
	status := nl.NewRtAttr(3, []byte{0, 0, 1, 0x8e}) // CTA_STATUS, skipped
	id := nl.NewRtAttr(ctaID, []byte{1, 2, 3, 4})
	var msg []byte
	for _, a := range []*nl.RtAttr{orig, reply, status, id} {
		msg = append(msg, a.Serialize()...)
	}
	f := parseCtFlow(msg)
	want := []any{"192.0.2.6", "192.0.2.5", uint16(55600), uint16(18090), "10.88.0.11", uint16(80), uint8(unix.IPPROTO_TCP)}
	got := []any{f.orig.src.String(), f.orig.dst.String(), f.orig.sport, f.orig.dport, f.reply.src.String(), f.reply.sport, f.orig.proto}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("parsed %v, want %v", got, want)
		}
	}
	if !bytes.Equal(f.id, []byte{1, 2, 3, 4}) || f.zone != nil {
		t.Fatalf("id %v zone %v, want [1 2 3 4] and none", f.id, f.zone)
	}
	for _, byReply := range []bool{true, false} {
		attrs := ctDeleteAttrs(f, byReply)
		wantTuple := orig
		if byReply {
			wantTuple = reply
		}
		if len(attrs) != 2 || !bytes.Equal(attrs[0].Serialize(), wantTuple.Serialize()) || !bytes.Equal(attrs[1].Serialize(), id.Serialize()) {
			t.Errorf("byReply %v: delete attributes do not name the dumped tuple and id", byReply)
		}
	}
	// Truncated input is ignored, not a panic (the kernel's own messages are trusted, but a
	// short read must not crash the daemon).
	for n := range msg {
		parseCtFlow(msg[:n])
	}
}
