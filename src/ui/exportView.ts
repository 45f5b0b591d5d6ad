/**
 * A view as a file: SVG (views drawn in SVG alone) with the page's computed styles written into
 * the elements, so that the file looks the same outside the page; PNG at twice the screen's size
 * (for slides) for every view, the view's canvases and SVGs composited in page order.
 */

/** The presentation properties a view's CSS sets, copied onto each exported element. */
const STYLE_PROPERTIES = [
  'fill',
  'fill-opacity',
  'stroke',
  'stroke-width',
  'stroke-opacity',
  'stroke-dasharray',
  'stroke-linecap',
  'stroke-linejoin',
  'opacity',
  'font-family',
  'font-size',
  'font-weight',
  'font-style',
  'text-anchor',
  'dominant-baseline',
  'visibility',
  'display',
] as const;

/** The drawing elements of a view's panel (its header and controls left out). */
function drawings(panel: HTMLElement): (SVGSVGElement | HTMLCanvasElement)[] {
  const header = panel.querySelector('header');
  return Array.from(
    panel.querySelectorAll<SVGSVGElement | HTMLCanvasElement>('svg, canvas'),
  ).filter(
    (el) =>
      !header?.contains(el) &&
      // Nested SVGs travel with their outermost one.
      !(el instanceof SVGSVGElement && el.parentElement?.closest('svg')) &&
      !(el instanceof HTMLCanvasElement && (el.width === 0 || el.height === 0)) &&
      el.getBoundingClientRect().width > 0,
  );
}

/** Can this view be written as SVG (drawn in SVG only, no canvas)? */
export function exportsAsSvg(panel: HTMLElement): boolean {
  const parts = drawings(panel);
  return parts.length > 0 && parts.every((el) => el instanceof SVGSVGElement);
}

function background(panel: HTMLElement): string {
  for (let el: HTMLElement | null = panel; el; el = el.parentElement) {
    const bg = getComputedStyle(el).backgroundColor;
    if (bg && bg !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(bg)) return bg;
  }
  return '#ffffff';
}

/** A standalone copy of `svg` with computed styles inlined. */
function standalone(svg: SVGSVGElement): SVGSVGElement {
  const copy = svg.cloneNode(true) as SVGSVGElement;
  const originals = [svg, ...Array.from(svg.querySelectorAll('*'))];
  const copies = [copy, ...Array.from(copy.querySelectorAll('*'))];
  originals.forEach((el, i) => {
    const target = copies[i] as SVGElement;
    const style = getComputedStyle(el);
    const inline = STYLE_PROPERTIES.map((p) => `${p}:${style.getPropertyValue(p)}`).join(';');
    target.setAttribute('style', `${inline};${target.getAttribute('style') ?? ''}`);
    // currentColor resolves against the page's colour, which the file does not have.
    for (const attr of ['fill', 'stroke'])
      if (target.getAttribute(attr) === 'currentColor') target.setAttribute(attr, style.color);
  });
  const { width, height } = svg.getBoundingClientRect();
  copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  copy.setAttribute('width', String(Math.round(width)));
  copy.setAttribute('height', String(Math.round(height)));
  return copy;
}

/** The view as one SVG document (its SVG drawings side by side as on the page). */
export function viewSvg(panel: HTMLElement): string {
  const box = panel.getBoundingClientRect();
  const ns = 'http://www.w3.org/2000/svg';
  const root = document.createElementNS(ns, 'svg');
  const parts = drawings(panel).filter((el): el is SVGSVGElement => el instanceof SVGSVGElement);
  const right = Math.max(...parts.map((p) => p.getBoundingClientRect().right)) - box.left;
  const bottom = Math.max(...parts.map((p) => p.getBoundingClientRect().bottom)) - box.top;
  const top = Math.min(...parts.map((p) => p.getBoundingClientRect().top)) - box.top;
  const width = Math.ceil(right);
  const height = Math.ceil(bottom - top);
  root.setAttribute('xmlns', ns);
  root.setAttribute('width', String(width));
  root.setAttribute('height', String(height));
  root.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const bg = document.createElementNS(ns, 'rect');
  bg.setAttribute('width', '100%');
  bg.setAttribute('height', '100%');
  bg.setAttribute('fill', background(panel));
  root.appendChild(bg);
  for (const part of parts) {
    const r = part.getBoundingClientRect();
    const copy = standalone(part);
    copy.setAttribute('x', String(r.left - box.left));
    copy.setAttribute('y', String(r.top - box.top - top));
    root.appendChild(copy);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(root)}`;
}

function loadImage(url: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('the drawing could not be rendered'));
    img.src = url;
  });
}

/** The view as a PNG at `scale` × its size on screen. */
export async function viewPng(panel: HTMLElement, scale = 2): Promise<Blob> {
  const header = panel.querySelector('header');
  const box = panel.getBoundingClientRect();
  const top = header ? header.getBoundingClientRect().bottom - box.top : 0;
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(box.width * scale));
  canvas.height = Math.max(1, Math.round((box.height - top) * scale));
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = background(panel);
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.scale(scale, scale);
  for (const part of drawings(panel)) {
    const r = part.getBoundingClientRect();
    const x = r.left - box.left;
    const y = r.top - box.top - top;
    if (part instanceof HTMLCanvasElement) {
      ctx.drawImage(part, x, y, r.width, r.height);
      continue;
    }
    const text = new XMLSerializer().serializeToString(standalone(part));
    const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
    try {
      ctx.drawImage(await loadImage(url), x, y, r.width, r.height);
    } finally {
      URL.revokeObjectURL(url);
    }
  }
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('no PNG'))), 'image/png'),
  );
}

/** Save `data` as a file named `name` (the browser's download). */
export function download(data: Blob | string, name: string, type = 'text/plain'): void {
  const blob = typeof data === 'string' ? new Blob([data], { type }) : data;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
