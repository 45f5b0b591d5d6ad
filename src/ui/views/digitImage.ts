/**
 * A digit as a tiny bitmap (an uncompressed 24-bit BMP in a data URL): ink black on white, the
 * image's own range stretched to full contrast. Bitmaps, not vector contours: a page redraws the
 * labels of a digit grid after every update, and re-rasterising dozens of anti-aliased contour
 * paths each time (in software, on small machines) held frames back for seconds.
 */

/** Data URL of a rows × cols greyscale image (row-major, any range; larger = more ink). */
export function digitDataUrl(pixels: ArrayLike<number>, cols: number, rows: number): string {
  let lo = Infinity;
  let hi = -Infinity;
  for (let q = 0; q < cols * rows; q++) {
    const v = pixels[q];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi > lo ? hi - lo : 1;
  const stride = (cols * 3 + 3) & ~3;
  const offset = 54;
  const bytes = new Uint8Array(offset + stride * rows);
  const view = new DataView(bytes.buffer);
  bytes[0] = 0x42; // 'B'
  bytes[1] = 0x4d; // 'M'
  view.setUint32(2, bytes.length, true);
  view.setUint32(10, offset, true);
  view.setUint32(14, 40, true); // BITMAPINFOHEADER
  view.setInt32(18, cols, true);
  view.setInt32(22, rows, true); // positive: rows stored bottom-up
  view.setUint16(26, 1, true);
  view.setUint16(28, 24, true);
  view.setUint32(34, stride * rows, true);
  for (let r = 0; r < rows; r++) {
    const line = offset + (rows - 1 - r) * stride;
    for (let c = 0; c < cols; c++) {
      const ink = (pixels[r * cols + c] - lo) / span;
      const grey = Math.round(255 * (1 - Math.min(1, Math.max(0, ink))));
      bytes[line + 3 * c] = grey;
      bytes[line + 3 * c + 1] = grey;
      bytes[line + 3 * c + 2] = grey;
    }
  }
  let binary = '';
  for (let q = 0; q < bytes.length; q += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(q, q + 0x8000));
  return `data:image/bmp;base64,${btoa(binary)}`;
}
