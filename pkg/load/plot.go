package load

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Plot draws the timeline as a PNG: above, the requests answered each
// second (HTTP 200, refused, server errors, transport errors); below, the
// second's median and worst latency; the events as vertical lines on both.
func (t Timeline) Plot(title string) ([]byte, error) {
	if len(t.Seconds) > 1 {
		// The last second is cut short by the stop: not a drop in service.
		t.Seconds = t.Seconds[:len(t.Seconds)-1]
	}
	counts := plot.New()
	counts.Title.Text = title
	counts.Y.Label.Text = "requests answered per second"
	counts.Legend.Top = false
	counts.Legend.Left = true
	lat := plot.New()
	lat.X.Label.Text = "seconds since the load started (dashed: the events named above)"
	lat.Y.Label.Text = "latency (ms)"
	lat.Legend.Top = true

	series := []struct {
		name  string
		color color.RGBA
		value func(Second) float64
	}{
		{"HTTP 200", color.RGBA{G: 140, A: 255}, func(s Second) float64 { return float64(s.OK) }},
		{"refused (invalid_grant)", color.RGBA{R: 200, A: 255}, func(s Second) float64 { return float64(s.Refused) }},
		{"server error (5xx)", color.RGBA{R: 230, G: 140, A: 255}, func(s Second) float64 { return float64(s.ServerErrors) }},
		{"no HTTP answer", color.RGBA{B: 200, A: 255}, func(s Second) float64 { return float64(s.Transport + s.Other) }},
	}
	for _, sr := range series {
		if err := addLine(counts, sr.name, sr.color, t.Seconds, sr.value); err != nil {
			return nil, err
		}
	}
	for _, sr := range []struct {
		name  string
		color color.RGBA
		value func(Second) float64
	}{
		{"p50", color.RGBA{B: 160, A: 255}, func(s Second) float64 { return ms(s.P50) }},
		{"max", color.RGBA{R: 160, B: 160, A: 255}, func(s Second) float64 { return ms(s.Max) }},
	} {
		if err := addLine(lat, sr.name, sr.color, t.Seconds, sr.value); err != nil {
			return nil, err
		}
	}
	if len(t.Events) > 0 {
		var at plotter.XYs
		var names []string
		for i, e := range t.Events {
			// Staggered: events close in time would print over each other.
			at = append(at, plotter.XY{X: e.At.Seconds(), Y: counts.Y.Max * (1.04 + 0.07*float64(i%3))})
			names = append(names, e.What)
		}
		labels, err := plotter.NewLabels(plotter.XYLabels{XYs: at, Labels: names})
		if err != nil {
			return nil, fmt.Errorf("label the plot: %w", err)
		}
		counts.Add(labels)
	}
	for _, p := range []*plot.Plot{counts, lat} {
		p.Y.Min = 0
		for _, e := range t.Events {
			x := e.At.Seconds()
			l, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: max(1, p.Y.Max)}})
			if err != nil {
				return nil, err
			}
			l.Color = color.Gray{Y: 150}
			l.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
			p.Add(l)
		}
	}

	img := vgimg.New(10*vg.Inch, 8*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadY: vg.Millimeter * 4, PadX: vg.Millimeter * 2, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{{counts}, {lat}}, tiles, dc)
	counts.Draw(canvases[0][0])
	lat.Draw(canvases[1][0])
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("render the plot: %w", err)
	}
	return buf.Bytes(), nil
}

func addLine(p *plot.Plot, name string, c color.RGBA, secs []Second, value func(Second) float64) error {
	pts := make(plotter.XYs, len(secs))
	for i, s := range secs {
		pts[i] = plotter.XY{X: s.At.Seconds(), Y: value(s)}
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return fmt.Errorf("plot %s: %w", name, err)
	}
	l.Color = c
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

func ms(d interface{ Seconds() float64 }) float64 { return d.Seconds() * 1000 }
