/**
 * A digit drawn on a pad, made to look like an MNIST digit before the network reads it. MNIST's
 * digits were scaled to fit a 20×20 box (aspect kept) and placed in the 28×28 image with their
 * centre of mass at its centre; then this app standardises gray levels as for the dataset
 * (mnistTask.ts). A drawing goes through the same steps: crop to its ink's bounding box, scale
 * it to fit the box, centre its mass, standardise.
 */

/** Side of the box MNIST fits each digit into, and of the whole image. */
export const DIGIT_BOX = 20;
export const DIGIT_SIDE = 28;
/** Gray levels at or below this count as paper when finding the ink's bounding box. */
const INK_THRESHOLD = 0.05;
/** Sub-samples per axis when scaling (each output pixel averages SUB² points of the source). */
const SUB = 4;

/** A gray image, row-major, levels in [0, 1] (1 = ink). */
export interface GrayImage {
  rows: number;
  cols: number;
  pixels: Float32Array;
}

/**
 * The drawing as MNIST would have it: `pixels` in [0, 1] on a DIGIT_SIDE² grid (the worker scales
 * them as the network's dataset was: mnistTask's mnistInputs). Null when there is no ink.
 */
export function padToDigit(image: GrayImage): { pixels: Float32Array } | null {
  const box = inkBox(image);
  if (!box) return null;
  const scaled = scaleToBox(image, box);
  return { pixels: centreByMass(scaled) };
}

interface Box {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** The smallest rectangle holding every pixel above INK_THRESHOLD, or null. */
export function inkBox(image: GrayImage): Box | null {
  let top = Infinity;
  let left = Infinity;
  let bottom = -1;
  let right = -1;
  for (let r = 0; r < image.rows; r++)
    for (let c = 0; c < image.cols; c++) {
      if (image.pixels[r * image.cols + c] <= INK_THRESHOLD) continue;
      top = Math.min(top, r);
      bottom = Math.max(bottom, r);
      left = Math.min(left, c);
      right = Math.max(right, c);
    }
  if (bottom < 0) return null;
  return { top, left, height: bottom - top + 1, width: right - left + 1 };
}

/**
 * The box's content resampled so that its longer side is DIGIT_BOX pixels (aspect kept): each
 * output pixel is the mean of SUB×SUB nearest-neighbour samples of the area it covers.
 */
function scaleToBox(image: GrayImage, box: Box): GrayImage {
  const scale = DIGIT_BOX / Math.max(box.height, box.width);
  const rows = Math.max(1, Math.round(box.height * scale));
  const cols = Math.max(1, Math.round(box.width * scale));
  const pixels = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      let sum = 0;
      for (let i = 0; i < SUB; i++)
        for (let j = 0; j < SUB; j++) {
          const sr = box.top + Math.floor(((r + (i + 0.5) / SUB) * box.height) / rows);
          const sc = box.left + Math.floor(((c + (j + 0.5) / SUB) * box.width) / cols);
          sum += image.pixels[sr * image.cols + sc];
        }
      pixels[r * cols + c] = Math.min(1, Math.max(0, sum / (SUB * SUB)));
    }
  return { rows, cols, pixels };
}

/**
 * The image placed on a DIGIT_SIDE² grid with its centre of mass (in pixel-index coordinates)
 * moved to the grid's centre, (DIGIT_SIDE − 1)/2, shifted by whole pixels; ink pushed past the
 * edge is dropped.
 */
function centreByMass(image: GrayImage): Float32Array {
  let mass = 0;
  let mr = 0;
  let mc = 0;
  for (let r = 0; r < image.rows; r++)
    for (let c = 0; c < image.cols; c++) {
      const v = image.pixels[r * image.cols + c];
      mass += v;
      mr += r * v;
      mc += c * v;
    }
  const middle = (DIGIT_SIDE - 1) / 2;
  const dr = Math.round(middle - (mass > 0 ? mr / mass : (image.rows - 1) / 2));
  const dc = Math.round(middle - (mass > 0 ? mc / mass : (image.cols - 1) / 2));
  const out = new Float32Array(DIGIT_SIDE * DIGIT_SIDE);
  for (let r = 0; r < image.rows; r++)
    for (let c = 0; c < image.cols; c++) {
      const R = r + dr;
      const C = c + dc;
      if (R < 0 || R >= DIGIT_SIDE || C < 0 || C >= DIGIT_SIDE) continue;
      out[R * DIGIT_SIDE + C] = image.pixels[r * image.cols + c];
    }
  return out;
}
