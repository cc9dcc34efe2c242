package main

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// palette gives each tool the same colour in every chart; hull is always the first.
var palette = []string{"#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#718096"}

// writeSVG draws one horizontal bar per (case, tool), each case scaled to its own largest p90 so
// cases with different units share a chart; the bar is the median, the whisker p10–p90, and the
// label the median with its unit.
func writeSVG(w io.Writer, area string, rs []*result) {
	const (
		left, right, barH, gap, top = 190, 150, 16, 14, 40
		width                       = 900
	)
	var tools []string
	for _, r := range rs {
		if !contains(tools, r.Tool) {
			tools = append(tools, r.Tool)
		}
	}
	// hull first, so it leads every group.
	for i, t := range tools {
		if t == "hull" {
			tools = append([]string{"hull"}, append(tools[:i:i], tools[i+1:]...)...)
			break
		}
	}
	cs := cases(rs)
	height := top + len(cs)*gap + len(rs)*barH + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14" font-weight="bold">%s</text>`+"\n", html.EscapeString(title(area)))
	lx := left
	for i, t := range tools {
		fmt.Fprintf(&b, `<rect x="%d" y="28" width="10" height="10" fill="%s"/><text x="%d" y="37">%s</text>`+"\n",
			lx, palette[i%len(palette)], lx+14, html.EscapeString(t))
		lx += 20 + 8*len(t)
	}
	y := top
	plot := float64(width - left - right)
	for _, c := range cs {
		y += gap
		var group []*result
		for _, t := range tools {
			for _, r := range rs {
				if r.Case == c && r.Tool == t {
					group = append(group, r)
				}
			}
		}
		scale := 0.0
		for _, r := range group {
			scale = max(scale, quantile(r.All, 0.9))
		}
		if scale == 0 {
			scale = 1
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-weight="bold">%s</text>`+"\n",
			left-8, y+barH-3, html.EscapeString(c))
		for _, r := range group {
			col := palette[indexOf(tools, r.Tool)%len(palette)]
			bw := plot * r.Median() / scale
			p10, p90 := plot*quantile(r.All, 0.1)/scale, plot*quantile(r.All, 0.9)/scale
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", left, y+2, bw, barH-4, col)
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="black"/>`+"\n",
				float64(left)+p10, float64(left)+p90, y+barH/2, y+barH/2)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s %s</text>`+"\n",
				float64(left)+max(bw, p90)+6, y+barH-4, num(r.Median()), html.EscapeString(r.Unit))
			y += barH
		}
	}
	fmt.Fprintf(&b, `<text x="10" y="%d" fill="#555">bar: median; line: p10–p90; each case scaled on its own</text>`+"\n", height-10)
	b.WriteString("</svg>\n")
	io.WriteString(w, b.String())
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return 0
}
