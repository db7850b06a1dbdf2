/**
 * Throughput of the wasm compute backend for training: forward and backward
 * convolutions in GFLOP/s, the project's gradient kernels against the ones
 * shipped with @tensorflow/tfjs-backend-wasm 4.22.0, and whole training steps
 * of a MobileNet-style network in images per second. Prints Markdown tables
 * for docs/benchmarks.md.
 *
 * Usage: npx ts-node --transpile-only -P tsconfig.json bench/backend.ts [--repeats N] [--steps N]
 *
 * Each timing is the median of `repeats` runs after one warm-up run, and
 * includes reading the result back (`dataSync`), as a training step does
 * when it reads the loss. FLOP counts are 2 per multiply-add of the direct
 * convolution, and backward passes count the same FLOPs as the forward pass.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { selectBackend } from '../trainer/src/backend';

interface ConvCase {
  label: string;
  batch: number;
  size: number;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  depthwise?: boolean;
}

/**
 * Layer shapes of the model zoo: VGG blocks at batch 8 (one such layer at
 * batch 48 takes minutes on wasm), MobileNet layers at batch 48 (16 triplets).
 */
const CONV_CASES: ConvCase[] = [
  { label: 'VGG block3 conv 3×3', batch: 8, size: 56, inChannels: 256, outChannels: 256, kernel: 3, stride: 1 },
  { label: 'VGG block5 conv 3×3', batch: 8, size: 14, inChannels: 512, outChannels: 512, kernel: 3, stride: 1 },
  { label: 'MobileNet conv1 3×3/2', batch: 48, size: 224, inChannels: 3, outChannels: 32, kernel: 3, stride: 2 },
  { label: 'MobileNet pointwise 1×1', batch: 48, size: 28, inChannels: 256, outChannels: 256, kernel: 1, stride: 1 },
  { label: 'MobileNet depthwise 3×3', batch: 48, size: 56, inChannels: 128, outChannels: 128, kernel: 3, stride: 1, depthwise: true },
  { label: 'MobileNet depthwise 3×3/2', batch: 48, size: 56, inChannels: 128, outChannels: 128, kernel: 3, stride: 2, depthwise: true },
  { label: 'conv 3×3/2', batch: 8, size: 56, inChannels: 128, outChannels: 256, kernel: 3, stride: 2 },
];

function parseArgs(): { repeats: number; steps: number } {
  const args = process.argv.slice(2);
  const read = (flag: string, fallback: number): number => {
    const index = args.indexOf(flag);
    if (index < 0) {
      return fallback;
    }
    const value = Number(args[index + 1]);
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`${flag} is '${args[index + 1]}', expected a positive integer.`);
    }
    return value;
  };
  return { repeats: read('--repeats', 3), steps: read('--steps', 5) };
}

/** Median wall time of `repeats` runs in milliseconds, after one warm-up run. */
function medianMs(repeats: number, run: () => void): number {
  run();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function runKernel(kernelName: string, inputs: tf.NamedTensorMap, attrs: object): () => void {
  return () => {
    const output = tf.engine().runKernel(kernelName, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
    output.dataSync();
    output.dispose();
  };
}

function benchConvolution(testCase: ConvCase, repeats: number): string {
  const { batch, size, inChannels, outChannels, kernel, stride, depthwise } = testCase;
  const x = tf.randomNormal([batch, size, size, inChannels]) as tf.Tensor4D;
  const filter = tf.randomNormal([kernel, kernel, inChannels, depthwise ? 1 : outChannels]) as tf.Tensor4D;
  const y = depthwise ? tf.depthwiseConv2d(x, filter, stride, 'same') : tf.conv2d(x, filter, stride, 'same');
  const dy = tf.randomNormal(y.shape);
  const flops = 2 * y.size * kernel * kernel * (depthwise ? 1 : inChannels);

  const forwardName = depthwise ? 'DepthwiseConv2dNative' : 'Conv2D';
  const inputName = depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput';
  const filterName = depthwise ? 'DepthwiseConv2dNativeBackpropFilter' : 'Conv2DBackpropFilter';
  const common = { strides: stride, pad: 'same', dataFormat: 'NHWC', dilations: 1 };

  const forward = medianMs(repeats, runKernel(forwardName, { x, filter }, common));
  const inputGrad = medianMs(repeats, runKernel(inputName, { dy, filter }, { ...common, inputShape: x.shape }));
  const filterGrad = medianMs(repeats, runKernel(filterName, { x, dy }, { ...common, filterShape: filter.shape }));
  tf.dispose([x, filter, y, dy]);

  const gflops = (ms: number): string => (flops / ms / 1e6).toFixed(1);
  const total = forward + inputGrad + filterGrad;
  return (
    `| ${testCase.label} | ${batch}×${size}×${size}×${inChannels} | ${(flops / 1e9).toFixed(2)} | ` +
    `${forward.toFixed(0)} (${gflops(forward)}) | ${inputGrad.toFixed(0)} (${gflops(inputGrad)}) | ` +
    `${filterGrad.toFixed(0)} (${gflops(filterGrad)}) | ${((3 * flops) / total / 1e6).toFixed(1)} |`
  );
}

/** Times a replaced kernel against the one shipped with the wasm backend, restoring ours afterwards. */
function benchReplacement(
  label: string,
  kernelName: string,
  shipped: tf.KernelConfig,
  run: () => void,
  repeats: number,
): string {
  const ours = tf.getKernel(kernelName, 'wasm');
  const oursMs = medianMs(repeats, run);
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel(shipped);
  // The shipped kernel was replaced before the backend initialised, so its setup never ran.
  shipped.setupFunc?.(tf.backend());
  const shippedMs = medianMs(1, run);
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel(ours);
  return `| ${kernelName} | ${label} | ${shippedMs.toFixed(0)} | ${oursMs.toFixed(0)} | ${(shippedMs / oursMs).toFixed(1)}× |`;
}

function benchReplacements(shipped: Map<string, tf.KernelConfig>, repeats: number): string[] {
  const rows: string[] = [];

  const filter = tf.randomNormal([3, 3, 128, 128]) as tf.Tensor4D;
  const dy = tf.randomNormal([8, 56, 56, 128]);
  rows.push(
    benchReplacement(
      '3×3/1 same, dy 8×56×56×128',
      'Conv2DBackpropInput',
      shipped.get('Conv2DBackpropInput') as tf.KernelConfig,
      runKernel('Conv2DBackpropInput', { dy, filter }, { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: dy.shape }),
      repeats,
    ),
  );

  const x = tf.relu(tf.randomNormal([48, 56, 56, 128])) as tf.Tensor4D;
  const pooled = tf.maxPool(x, 2, 2, 'valid');
  const poolDy = tf.randomNormal(pooled.shape);
  for (const kernelName of ['MaxPoolGrad', 'AvgPoolGrad']) {
    rows.push(
      benchReplacement(
        '2×2/2 valid, input 48×56×56×128',
        kernelName,
        shipped.get(kernelName) as tf.KernelConfig,
        runKernel(kernelName, { dy: poolDy, input: x, output: pooled }, { filterSize: 2, strides: 2, pad: 'valid' }),
        repeats,
      ),
    );
  }
  tf.dispose([x, filter, dy, pooled, poolDy]);
  return rows;
}

/** MobileNet-style network: conv, six depthwise-separable blocks, GAP skips from four of them, dense head, L2. */
function mobileNetStyle(size: number): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 3] });
  let x = tf.layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'same', useBias: false }).apply(input);
  x = tf.layers.reLU({ maxValue: 6 }).apply(tf.layers.batchNormalization().apply(x));

  const skips: tf.SymbolicTensor[] = [];
  const blocks: Array<[number, number]> = [
    [64, 1],
    [128, 2],
    [128, 1],
    [256, 2],
    [256, 1],
    [512, 2],
  ];
  blocks.forEach(([filters, stride], index) => {
    x = tf.layers.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: 'same', useBias: false }).apply(x);
    x = tf.layers.reLU({ maxValue: 6 }).apply(tf.layers.batchNormalization().apply(x));
    x = tf.layers.conv2d({ filters, kernelSize: 1, useBias: false }).apply(x);
    x = tf.layers.reLU({ maxValue: 6 }).apply(tf.layers.batchNormalization().apply(x));
    if ([0, 1, 3, 5].includes(index)) {
      skips.push(tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor);
    }
  });

  const joined = tf.layers.concatenate().apply(skips);
  const dense = tf.layers.dense({ units: 128, activation: 'relu' }).apply(joined);
  const output = tf.layers.dense({ units: 64 }).apply(tf.layers.dropout({ rate: 0.5 }).apply(dense));
  return tf.model({ inputs: input, outputs: output as tf.SymbolicTensor });
}

function benchTraining(size: number, batch: number, steps: number): string {
  const model = mobileNetStyle(size);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const images = tf.randomUniform([batch, size, size, 3]);

  const step = (): void => {
    const loss = optimizer.minimize(() => {
      const embeddings = model.apply(images, { training: true }) as tf.Tensor2D;
      const normalised = tf.div(embeddings, tf.norm(embeddings, 'euclidean', 1, true));
      const [query, positive, negative] = tf.split(tf.reshape(normalised, [batch / 3, 3, -1]), 3, 1);
      const margin = tf.sub(tf.norm(tf.sub(query, positive), 'euclidean', -1), tf.norm(tf.sub(query, negative), 'euclidean', -1));
      return tf.mean(tf.relu(tf.add(margin, 1)));
    }, true) as tf.Scalar;
    loss.dataSync();
    loss.dispose();
  };

  const stepMs = medianMs(steps, step);
  const parameters = model.countParams();
  optimizer.dispose();
  model.dispose();
  images.dispose();
  return `| ${size}×${size} | ${batch} | ${(parameters / 1e6).toFixed(2)} M | ${stepMs.toFixed(0)} | ${((batch * 1000) / stepMs).toFixed(1)} |`;
}

async function main(): Promise<void> {
  const { repeats, steps } = parseArgs();
  // Importing the wasm package registered its own kernels. Keep them before ours replace some.
  const shipped = new Map(
    ['Conv2DBackpropInput', 'MaxPoolGrad', 'AvgPoolGrad'].map((name) => [name, tf.getKernel(name, 'wasm')] as const),
  );
  const backend = await selectBackend({ preferred: 'wasm' });

  console.log(
    `Backend ${backend.name} (SIMD ${backend.simd}, ${backend.threads} thread); ${availableParallelism()} cores, ` +
      `${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, load average ${loadavg()[0].toFixed(1)} at start.\n`,
  );

  console.log('| layer | input | GFLOP | forward ms (GFLOP/s) | dx ms (GFLOP/s) | dW ms (GFLOP/s) | fwd+bwd GFLOP/s |');
  console.log('|---|---|---|---|---|---|---|');
  for (const testCase of CONV_CASES) {
    console.log(benchConvolution(testCase, repeats));
  }

  console.log('\n| kernel | case | shipped ms | ours ms | speed-up |');
  console.log('|---|---|---|---|---|');
  for (const row of benchReplacements(shipped, repeats)) {
    console.log(row);
  }

  console.log('\n| input | batch | parameters | step ms | images/s |');
  console.log('|---|---|---|---|---|');
  console.log(benchTraining(32, 48, steps));
  console.log(benchTraining(64, 48, steps));
  console.log(`\nLoad average ${loadavg()[0].toFixed(1)} at the end.`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
