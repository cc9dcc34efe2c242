package netns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink/nl"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Forgetting flows: hull dumps the conntrack table over ctnetlink and deletes the entries a
// selector picks, one IPCTNL_MSG_CT_DELETE each (what `conntrack -D` does). The delete names
// the entry by the tuple that holds the address being forgotten, never blindly by the
// original one: a DNAT'd flow's original tuple (client → published port) names no
// endpoint, and between the dump and the delete a client may reuse its source port — the
// kernel then kills the old entry (TIME_WAIT "reopen") and allocates the new one, often in
// the very slab object just freed, with the same original tuple and so the same CTA_ID
// (a hash of the object's address and that tuple). A delete by the original tuple and id
// would take that new, live flow, sent to a replica that stays, and its next packet would be
// NAT'd afresh to another replica and reset (found under lb.sh's rolling update). The
// reply tuple of a DNAT'd flow starts with the endpoint's address, so a delete by it can
// only take a flow to that endpoint.

// ctTuple is one direction of a conntrack entry: what selectors look at, and the raw
// nested attribute to name it by in a delete.
type ctTuple struct {
	src, dst     netip.Addr
	proto        uint8
	sport, dport uint16 // TCP and UDP only
	raw          []byte // the CTA_TUPLE_* payload as the kernel sent it
}

// ctFlow is a conntrack entry as the dump gives it.
type ctFlow struct {
	orig, reply ctTuple
	id, zone    []byte // raw CTA_ID and CTA_ZONE payloads, if present
}

// flowPick says whether a selector wants a flow, and whether to delete it by its reply
// tuple (true) or its original one (false) — by the one holding the address at stake.
type flowPick func(f ctFlow) (hit, byReply bool)

// ctnetlink attribute types (linux/netfilter/nfnetlink_conntrack.h).
const (
	ctaTupleOrig   = 1
	ctaTupleReply  = 2
	ctaID          = 12
	ctaZone        = 18
	ctaTupleIP     = 1
	ctaTupleProto  = 2
	ctaIPv4Src     = 1
	ctaIPv4Dst     = 2
	ctaProtoNum    = 1
	ctaProtoSrc    = 2
	ctaProtoDst    = 3
	nlaTypeMask    = 0x3fff                            // without NLA_F_NESTED and NLA_F_NET_BYTEORDER
	ctnlMsgCTGet   = unix.NFNL_SUBSYS_CTNETLINK<<8 | 1 // IPCTNL_MSG_CT_GET
	ctnlMsgCTDelet = unix.NFNL_SUBSYS_CTNETLINK<<8 | 2 // IPCTNL_MSG_CT_DELETE
)

// nfAttrs walks one level of netlink attributes: type (flags masked off) → payload.
func nfAttrs(b []byte, f func(typ uint16, payload []byte)) {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b[0:2]))
		if l < 4 || l > len(b) {
			return
		}
		f(binary.NativeEndian.Uint16(b[2:4])&nlaTypeMask, b[4:l])
		b = b[min((l+3)&^3, len(b)):]
	}
}

// parseCtTuple reads a CTA_TUPLE_* payload.
func parseCtTuple(b []byte) ctTuple {
	t := ctTuple{raw: b}
	nfAttrs(b, func(typ uint16, p []byte) {
		switch typ {
		case ctaTupleIP:
			nfAttrs(p, func(typ uint16, a []byte) {
				if len(a) != 4 {
					return // IPv6: not hull's
				}
				switch typ {
				case ctaIPv4Src:
					t.src = netip.AddrFrom4([4]byte(a))
				case ctaIPv4Dst:
					t.dst = netip.AddrFrom4([4]byte(a))
				}
			})
		case ctaTupleProto:
			nfAttrs(p, func(typ uint16, a []byte) {
				switch {
				case typ == ctaProtoNum && len(a) == 1:
					t.proto = a[0]
				case typ == ctaProtoSrc && len(a) == 2:
					t.sport = binary.BigEndian.Uint16(a)
				case typ == ctaProtoDst && len(a) == 2:
					t.dport = binary.BigEndian.Uint16(a)
				}
			})
		}
	})
	return t
}

// parseCtFlow reads one dumped entry: the message after its nfgenmsg header.
func parseCtFlow(b []byte) ctFlow {
	var f ctFlow
	nfAttrs(b, func(typ uint16, p []byte) {
		switch typ {
		case ctaTupleOrig:
			f.orig = parseCtTuple(p)
		case ctaTupleReply:
			f.reply = parseCtTuple(p)
		case ctaID:
			f.id = p
		case ctaZone:
			f.zone = p
		}
	})
	return f
}

// ctDeleteAttrs are the attributes of the delete of f by its reply or original tuple; the
// id makes the kernel refuse (ENOENT) an entry that is not the one dumped.
func ctDeleteAttrs(f ctFlow, byReply bool) []*nl.RtAttr {
	typ, t := ctaTupleOrig, f.orig
	if byReply {
		typ, t = ctaTupleReply, f.reply
	}
	attrs := []*nl.RtAttr{nl.NewRtAttr(unix.NLA_F_NESTED|typ, t.raw)}
	if f.zone != nil {
		attrs = append(attrs, nl.NewRtAttr(ctaZone, f.zone))
	}
	if f.id != nil {
		attrs = append(attrs, nl.NewRtAttr(ctaID, f.id))
	}
	return attrs
}

// forgetConntrack deletes the IPv4 conntrack entries pick wants, in the store's host
// namespace. A table changed during the dump (NLM_F_DUMP_INTR) still has what was read
// deleted; entries already gone are not an error.
func (s *Store) forgetConntrack(pick flowPick) error {
	sock, err := nl.GetNetlinkSocketAt(s.hostNS, vnetns.None(), unix.NETLINK_NETFILTER)
	if err != nil {
		return fmt.Errorf("ctnetlink socket: %w", err)
	}
	defer sock.Close()
	socks := map[int]*nl.SocketHandle{unix.NETLINK_NETFILTER: {Socket: sock}}
	request := func(typ, flags int, attrs ...*nl.RtAttr) *nl.NetlinkRequest {
		req := nl.NewNetlinkRequest(typ, flags)
		req.Sockets = socks
		req.AddData(&nl.Nfgenmsg{NfgenFamily: unix.AF_INET, Version: nl.NFNETLINK_V0})
		for _, a := range attrs {
			req.AddData(a)
		}
		return req
	}
	type del struct {
		f       ctFlow
		byReply bool
	}
	var dels []del
	err = request(ctnlMsgCTGet, unix.NLM_F_DUMP).ExecuteIter(unix.NETLINK_NETFILTER, 0, func(msg []byte) bool {
		if len(msg) < nl.SizeofNfgenmsg {
			return true
		}
		f := parseCtFlow(msg[nl.SizeofNfgenmsg:])
		if hit, byReply := pick(f); hit {
			// The dump's buffer is reused: keep copies.
			f.orig.raw, f.reply.raw = clone(f.orig.raw), clone(f.reply.raw)
			f.id, f.zone = clone(f.id), clone(f.zone)
			dels = append(dels, del{f, byReply})
		}
		return true
	})
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EPROTONOSUPPORT) {
		return nil // no conntrack in this namespace yet: nothing to forget
	}
	if err != nil && !errors.Is(err, nl.ErrDumpInterrupted) {
		return fmt.Errorf("conntrack dump: %w", err)
	}
	var failed int
	var last error
	for _, d := range dels {
		_, err := request(ctnlMsgCTDelet, unix.NLM_F_ACK, ctDeleteAttrs(d.f, d.byReply)...).Execute(unix.NETLINK_NETFILTER, 0)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			failed, last = failed+1, err
		}
	}
	if failed > 0 {
		return fmt.Errorf("conntrack delete: %d of %d entries: %w", failed, len(dels), last)
	}
	return nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
