import { oneHot, type Dataset, type Split } from './dataset';
import { MNIST_CLASSES, testIndices, trainIndices, type MnistData } from './mnistData';

/** Common MNIST standardisation (mean 0.1307, std 0.3081 of the gray levels in [0, 1]). */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;
/** How pixels become inputs: standardised, or raw gray levels in [0, 1] (the paper's code). */
export type PixelScale = 'standardised' | 'raw';

/** The input x = (v − mean)/std of a gray level v ∈ [0, 1] under `pixels`. */
function scaling(pixels: PixelScale): [mean: number, std: number] {
  return pixels === 'raw' ? [0, 1] : [MNIST_MEAN, MNIST_STD];
}

/** Gray levels in [0, 1] (a drawn digit) as the network's inputs, scaled as its dataset was. */
export function mnistInputs(gray: Float32Array, pixels: PixelScale): Float32Array {
  const [mean, std] = scaling(pixels);
  return Float32Array.from(gray, (v) => (v - mean) / std);
}

function mnistSplit(data: MnistData, indices: Uint32Array, pixels: PixelScale): Split {
  const [mean, std] = scaling(pixels);
  const size = data.rows * data.cols;
  const x = new Float32Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r];
    labels[r] = data.labels[i];
    for (let p = 0; p < size; p++) x[r * size + p] = (data.pixels[i * size + p] / 255 - mean) / std;
  }
  return { count: indices.length, x, labels, target: oneHot(labels, MNIST_CLASSES) };
}

/** MNIST with the file's split (in each class, index i % 5 = 4 is a test sample). */
export function mnistDataset(data: MnistData, pixels: PixelScale = 'standardised'): Dataset {
  return {
    task: 'mnist',
    m: data.rows * data.cols,
    k: MNIST_CLASSES,
    loss: 'cross-entropy',
    classification: true,
    train: mnistSplit(data, trainIndices(data), pixels),
    test: mnistSplit(data, testIndices(data), pixels),
    image: { rows: data.rows, cols: data.cols },
  };
}
