#!/usr/bin/env python3
"""Write the Keras weight files that the pretrained-weights tests load.

Every file is written by Keras itself, so it has exactly the layout of the
files that Keras applications cache in ~/.keras/models. The values are
random, not ImageNet weights, because the tests check that the loader maps
each tensor to the right layer, not what the network has learned.

- mobilenet_2_5_128_tf_no_top.h5: MobileNet(alpha=0.25, include_top=False)
  at 128x128, saved with save_weights in the legacy Keras 2 HDF5 layout and
  named as Keras names the ImageNet file of that base. Its BatchNormalization
  statistics are random too, so that a mix-up of gamma, beta, moving mean and
  moving variance changes the outputs.
- mobilenet_2_5_128_tf_no_top.reference.json: the input and the outputs of
  that base as Keras computes them (conv_pw_13_relu, and the spatial mean of
  each depthwise-block ReLU that mildnet_mobilenet pools).
- vgg16_block1_include_top.h5: block1_conv1 followed by the VGG16 top
  layers flatten, fc1, fc2 and predictions, at an 8x8 input and with a few
  units each to keep it small.
- vgg16_block1.h5: only block1_conv1 and block1_conv2 of VGG16.
- vgg16_block1_wrong_shape.h5: block1_conv1 with 32 filters instead of 64.
- vgg16_block1_conv1_model.h5: block1_conv1 saved with model.save, so the
  weights sit in the file's model_weights group. Its values are known: the
  kernel has i / 1000 at row-major index i, the bias -j / 100.
- projection.weights.h5: a Keras 3 .weights.h5 file with one Dense layer
  named projection, kernel i / 10 at row-major index i and bias [0.5, -0.5].

Usage, in a throwaway virtual environment outside the repository (tf-keras
is Keras 2, and tensorflow-cpu also installs Keras 3):

    venv="$(mktemp -d)/venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install tensorflow-cpu==2.21.0 tf-keras==2.21.0
    "$venv/bin/python" scripts/make-weight-fixtures.py trainer/test/fixtures/weights

The weights are the same on every run because the seeds are fixed.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tf_keras  # noqa: E402
from tf_keras import layers  # noqa: E402

SIZE = 128
ALPHA = 0.25
SKIP_BLOCKS = [1, 2, 4, 6, 12]


def pattern_image(size):
    """Return the test input [1, size, size, 3]: ((3h + 5w + 7c) mod 17) / 16, in [0, 1]."""
    h, w, c = np.meshgrid(np.arange(size), np.arange(size), np.arange(3), indexing="ij")
    return (((3 * h + 5 * w + 7 * c) % 17) / 16.0).astype(np.float32)[None]


def randomize_batch_norm(model, rng):
    """Give every BatchNormalization layer random gamma, beta, mean and variance."""
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, gamma.shape).astype(np.float32),
                    rng.uniform(-0.2, 0.2, beta.shape).astype(np.float32),
                    rng.uniform(-0.2, 0.2, mean.shape).astype(np.float32),
                    rng.uniform(0.5, 1.5, variance.shape).astype(np.float32),
                ]
            )


def write_mobilenet(out_dir, rng):
    model = tf_keras.applications.MobileNet(
        input_shape=(SIZE, SIZE, 3), alpha=ALPHA, include_top=False, weights=None
    )
    randomize_batch_norm(model, rng)
    model.save_weights(os.path.join(out_dir, "mobilenet_2_5_128_tf_no_top.h5"))

    image = pattern_image(SIZE)
    tap_names = [f"conv_dw_{block}_relu" for block in SKIP_BLOCKS]
    probe = tf_keras.Model(
        model.input, [model.output] + [model.get_layer(name).output for name in tap_names]
    )
    outputs = [np.asarray(o) for o in probe(image, training=False)]
    reference = {
        "keras_version": tf_keras.__version__,
        "model": f"MobileNet(alpha={ALPHA}, include_top=False, weights=None), input {SIZE}x{SIZE}",
        "input": "x[0, h, w, c] = ((3h + 5w + 7c) mod 17) / 16, fed without preprocess_input",
        "output_layer": "conv_pw_13_relu",
        "output_shape": list(outputs[0].shape),
        "output": [float(v) for v in outputs[0].ravel()],
        "tap_means": {
            name: [float(v) for v in tap.mean(axis=(0, 1, 2))]
            for name, tap in zip(tap_names, outputs[1:])
        },
    }
    with open(os.path.join(out_dir, "mobilenet_2_5_128_tf_no_top.reference.json"), "w") as f:
        json.dump(reference, f)
        f.write("\n")


def vgg_block1(conv1_filters, with_conv2):
    image = layers.Input((32, 32, 3))
    x = layers.Conv2D(conv1_filters, 3, padding="same", activation="relu", name="block1_conv1")(image)
    if with_conv2:
        x = layers.Conv2D(64, 3, padding="same", activation="relu", name="block1_conv2")(x)
    x = layers.MaxPooling2D(2, name="block1_pool")(x)
    return tf_keras.Model(image, x, name="vgg16")


def vgg_block1_include_top():
    image = layers.Input((8, 8, 3))
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="block1_conv1")(image)
    x = layers.MaxPooling2D(2, name="block1_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(8, activation="relu", name="fc1")(x)
    x = layers.Dense(8, activation="relu", name="fc2")(x)
    x = layers.Dense(3, activation="softmax", name="predictions")(x)
    return tf_keras.Model(image, x, name="vgg16")


def write_keras3_weights(out_dir):
    import keras  # Keras 3, installed with tensorflow-cpu

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="projection")])
    model.get_layer("projection").set_weights(
        [np.arange(8, dtype=np.float32).reshape(4, 2) / 10, np.array([0.5, -0.5], np.float32)]
    )
    model.save_weights(os.path.join(out_dir, "projection.weights.h5"))


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "trainer/test/fixtures/weights"
    os.makedirs(out_dir, exist_ok=True)
    tf_keras.utils.set_random_seed(20190101)
    rng = np.random.default_rng(20190101)

    write_mobilenet(out_dir, rng)
    vgg_block1_include_top().save_weights(os.path.join(out_dir, "vgg16_block1_include_top.h5"))
    vgg_block1(64, True).save_weights(os.path.join(out_dir, "vgg16_block1.h5"))
    vgg_block1(32, False).save_weights(os.path.join(out_dir, "vgg16_block1_wrong_shape.h5"))
    conv1_model = vgg_block1(64, False)
    conv1_model.get_layer("block1_conv1").set_weights(
        [np.arange(3 * 3 * 3 * 64, dtype=np.float32).reshape(3, 3, 3, 64) / 1000, -np.arange(64, dtype=np.float32) / 100]
    )
    conv1_model.save(os.path.join(out_dir, "vgg16_block1_conv1_model.h5"))
    write_keras3_weights(out_dir)


if __name__ == "__main__":
    main()
