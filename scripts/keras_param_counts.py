#!/usr/bin/env python3
"""Print the parameter counts of every model-zoo architecture, built in Keras.

The TypeScript model zoo (trainer/src/models) must match these counts; its
test reads them from trainer/test/models/keras-param-counts.json. Each model
is rebuilt here from Keras's own layers: the VGG16, VGG19 and MobileNet
bases are keras.applications models (weights=None, include_top=False) as in
the original, and the first 10 layers of a VGG base are frozen by index as
the original did. Nothing is downloaded.

Usage, in a throwaway virtual environment outside the repository:

    python3 -m venv /tmp/kvenv
    /tmp/kvenv/bin/pip install keras 'jax[cpu]'
    KERAS_BACKEND=jax /tmp/kvenv/bin/python scripts/keras_param_counts.py \
        > trainer/test/models/keras-param-counts.json
"""

import json
import math
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
from keras import layers, ops  # noqa: E402


class LocalResponseNormalization(layers.Layer):
    """Cross-channel LRN, b = a / (k + alpha * sum of a^2 over n channels)^beta; it has no weights."""

    def __init__(self, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        self.depth_radius = depth_radius
        self.bias = bias
        self.alpha = alpha
        self.beta = beta

    def call(self, x):
        squared = ops.square(x)
        channels = x.shape[-1]
        padded = ops.pad(squared, [[0, 0], [0, 0], [0, 0], [self.depth_radius, self.depth_radius]])
        window_sum = sum(padded[..., i : i + channels] for i in range(2 * self.depth_radius + 1))
        return x / ops.power(self.bias + self.alpha * window_sum, self.beta)


def l2(x, axis=-1):
    return layers.UnitNormalization(axis=axis)(x)


def vgg(depth, inputs, frozen):
    application = keras.applications.VGG16 if depth == 16 else keras.applications.VGG19
    base = application(weights=None, include_top=False, input_tensor=inputs)
    if frozen:
        for layer in base.layers[:10]:
            layer.trainable = False
    return base


def mildnet(size, depth=16, frozen=True, skips=(1, 2, 3, 4), units=(2048, 2048), dropout=0.6, pooled=True):
    inputs = keras.Input((size, size, 3))
    base = vgg(depth, inputs, frozen)
    if pooled:
        features = [layers.GlobalAveragePooling2D()(base.output)]
        features += [layers.GlobalAveragePooling2D()(base.get_layer(f"block{b}_pool").output) for b in skips]
        x = layers.Concatenate()(features) if len(features) > 1 else features[0]
    else:
        x = base.output
    x = layers.Dense(units[0], activation="relu")(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    x = layers.Dense(units[1], activation="relu")(x)
    if pooled:
        x = l2(x)
    else:
        x = layers.Flatten()(l2(x, axis=1))
    return keras.Model(inputs, x)


def deep_head(x, dropout):
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(4096, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(4096, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    return l2(x)


def join(inputs, shallow, deep):
    x = layers.Concatenate()([shallow, deep])
    return keras.Model(inputs, l2(layers.Dense(4096)(x)))


def visnet_branches(inputs):
    a = layers.Conv2D(96, 8, strides=16, padding="same")(inputs)
    a = l2(layers.Flatten()(layers.MaxPooling2D(3, strides=4, padding="same")(a)))
    b = layers.Conv2D(96, 8, strides=32, padding="same")(inputs)
    b = l2(layers.Flatten()(layers.MaxPooling2D(7, strides=2, padding="same")(b)))
    return layers.Concatenate()([a, b])


def lrn_branches(inputs, with_lrn):
    def branch(input_pool, pad, pool, pool_stride):
        x = layers.MaxPooling2D(input_pool, strides=input_pool)(inputs)
        x = layers.Conv2D(96, 8, strides=4, activation="relu")(x)
        if with_lrn:
            x = LocalResponseNormalization()(x)
        x = layers.ZeroPadding2D(pad)(x)
        x = layers.MaxPooling2D(pool, strides=pool_stride, padding="same")(x)
        return l2(layers.Flatten()(x))

    return layers.Concatenate()([branch(4, 3, 7, 4), branch(8, 1, 3, 2)])


def ranknet_branches(inputs):
    def branch(input_pool, pad, pool, pool_stride):
        x = layers.MaxPooling2D(input_pool, strides=input_pool)(inputs)
        x = layers.ZeroPadding2D(4)(x)
        x = layers.Conv2D(96, 8, strides=4)(x)
        x = layers.ZeroPadding2D(pad)(x)
        return layers.Flatten()(layers.MaxPooling2D(pool, strides=pool_stride)(x))

    return l2(layers.Concatenate()([branch(4, 2, 7, 4), branch(8, 1, 3, 2)]))


def visnet(size, with_lrn=None):
    inputs = keras.Input((size, size, 3))
    deep = deep_head(vgg(16, inputs, frozen=False).output, 0.6)
    shallow = visnet_branches(inputs) if with_lrn is None else lrn_branches(inputs, with_lrn)
    return join(inputs, shallow, deep)


def ranknet(size):
    inputs = keras.Input((size, size, 3))
    deep = deep_head(vgg(19, inputs, frozen=False).output, 0.5)
    return join(inputs, ranknet_branches(inputs), deep)


def mildnet_vgg16_big(size):
    inputs = keras.Input((size, size, 3))
    head = mildnet(size)
    return join(inputs, visnet_branches(inputs), head(inputs))


def alexnet(size):
    """AlexNet (Krizhevsky et al. 2012), grouped convolutions via Conv2D(groups=2)."""
    inputs = keras.Input((size, size, 3))
    x = layers.Conv2D(96, 11, strides=4, activation="relu")(inputs)
    x = layers.MaxPooling2D(3, strides=2)(LocalResponseNormalization()(x))
    x = layers.Conv2D(256, 5, padding="same", groups=2, activation="relu")(x)
    x = layers.MaxPooling2D(3, strides=2)(LocalResponseNormalization()(x))
    x = layers.Conv2D(384, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(384, 3, padding="same", groups=2, activation="relu")(x)
    x = layers.Conv2D(256, 3, padding="same", groups=2, activation="relu")(x)
    x = layers.MaxPooling2D(3, strides=2)(x)
    return join(inputs, lrn_branches(inputs, with_lrn=False), deep_head(x, 0.6))


def vanila_vgg16(size):
    inputs = keras.Input((size, size, 3))
    return keras.Model(inputs, layers.Flatten()(vgg(16, inputs, frozen=False).output))


def mildnet_mobilenet(size, width=1.0, head_units=1024):
    """MobileNet with the skips the original meant to concatenate (its code dropped them)."""
    inputs = keras.Input((size, size, 3))
    base = keras.applications.MobileNet(weights=None, include_top=False, input_tensor=inputs, alpha=width)
    taps = ["conv_dw_1_relu", "conv_dw_2_relu", "conv_dw_4_relu", "conv_dw_6_relu", "conv_dw_12_relu"]
    features = [layers.GlobalAveragePooling2D()(base.output)]
    features += [layers.GlobalAveragePooling2D()(base.get_layer(name).output) for name in taps]
    x = layers.Dense(head_units, activation="relu")(layers.Concatenate()(features))
    x = layers.Dense(head_units, activation="relu")(layers.Dropout(0.5)(x))
    return keras.Model(inputs, l2(x))


# (model id, input size, extra build options of the TypeScript zoo, builder)
MODELS = [
    ("mildnet_vgg16", 224, {}, lambda s: mildnet(s)),
    ("mildnet_vgg19", 224, {}, lambda s: mildnet(s, depth=19)),
    ("mildnet_all_trainable", 224, {}, lambda s: mildnet(s, frozen=False)),
    ("mildnet_1024_512", 224, {}, lambda s: mildnet(s, units=(1024, 512))),
    ("mildnet_512_512", 224, {}, lambda s: mildnet(s, units=(512, 512))),
    ("mildnet_512_no_dropout", 224, {}, lambda s: mildnet(s, units=(512, 512), dropout=0)),
    ("mildnet_vgg16_skip_1", 224, {}, lambda s: mildnet(s, skips=(2, 3, 4))),
    ("mildnet_vgg16_skip_2", 224, {}, lambda s: mildnet(s, skips=(3, 4))),
    ("mildnet_vgg16_skip_3", 224, {}, lambda s: mildnet(s, skips=(4,))),
    ("mildnet_vgg16_skip_4", 224, {}, lambda s: mildnet(s, pooled=False)),
    ("mildnet_without_skip", 224, {}, lambda s: mildnet(s, frozen=False, units=(1024, 1024), pooled=False)),
    ("mildnet_without_skip_big", 224, {}, lambda s: mildnet(s, frozen=False, pooled=False)),
    ("mildnet_vgg16_big", 224, {}, mildnet_vgg16_big),
    ("mildnet_mobilenet", 224, {}, lambda s: mildnet_mobilenet(s)),
    ("mildnet_mobilenet", 32, {"width": 0.25}, lambda s: mildnet_mobilenet(s, width=0.25)),
    ("mildnet_mobilenet", 32, {"width": 0.25, "headUnits": 512}, lambda s: mildnet_mobilenet(s, 0.25, 512)),
    ("vanila_vgg16", 224, {}, vanila_vgg16),
    ("visnet_model", 224, {}, lambda s: visnet(s)),
    ("visnet_lrn2d_model", 224, {}, lambda s: visnet(s, with_lrn=True)),
    ("ranknet", 224, {}, ranknet),
    ("alexnet", 227, {}, alexnet),
]


def count(weights):
    return int(sum(math.prod(w.shape) for w in weights))


def main():
    rows = []
    for model_id, size, options, build in MODELS:
        model = build(size)
        total = count(model.weights)
        trainable = count(model.trainable_weights)
        rows.append({"id": model_id, "inputSize": size, **options, "total": total, "trainable": trainable,
                     "outputShape": list(model.output.shape[1:])})
        keras.backend.clear_session()
        print(f"{model_id} @{size} {options}: {total} / {trainable}", file=sys.stderr)
    report = {"keras": keras.__version__, "backend": keras.backend.backend(), "models": rows}
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
