/**
 * SVG helpers for the view tests (jsdom): a fresh <svg> in the document, and a normalised
 * serialisation for snapshots — ids (and references to them) removed, numbers rounded to one
 * decimal so that float noise does not change a snapshot, optionally one element per line.
 */
const SVG_NS = 'http://www.w3.org/2000/svg';

export function newSvg(): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, 'svg') as SVGSVGElement;
  document.body.appendChild(svg);
  return svg;
}

export function normalise(el: Element, options: { lines?: boolean } = {}): string {
  const text = el.outerHTML
    .replace(/ id="[^"]*"/g, '')
    .replace(/url\(#[^)]*\)/g, 'url(#)')
    .replace(/-?\d+\.\d+(e-?\d+)?/g, (m) => {
      const v = Math.round(Number(m) * 10) / 10;
      return String(Object.is(v, -0) ? 0 : v);
    });
  return options.lines ? text.replace(/></g, '>\n<') : text;
}
