"""The project's own digit classifiers: the default feature extractor and classifier for digit data.

Salimans et al. 2016 (Sec. 4) score samples with a pretrained classifier's outputs (the
Inception Score); Heusel et al. 2017 compare the classifier's penultimate activations (FID). On
digits an ImageNet network is the wrong judge, so, as is common for MNIST-like data (e.g. the
StackedMNIST mode count of Metz et al. 2017), gankit trains a small CNN on the data set itself:
its softmax feeds :mod:`gankit.metrics.classifier` (classifier score, label histograms, modes) and
its penultimate layer (post-ReLU) is the domain-specific feature space for FID, KID and
precision/recall in :mod:`gankit.metrics.features`.

| module | holds |
|---|---|
| ``network`` | the CNN and the classifier around it (batches, devices, input checks) |
| ``training`` | how each shipped classifier is trained, deterministically |
| ``weights_file`` | the safetensors file, its provenance and the pinned checksums |
| ``__main__`` | the command that retrains one and writes its file |

The classifiers are trained on the TRAIN split only (the held-out split measures them) and
shipped as safetensors files whose SHA-256 is pinned in :data:`SHA256` and checked before
loading. Rebuild one with::

    python -m gankit.metrics.digit_classifier --data mnist5k \\
        --out src/gankit/weights/mnist5k-classifier.safetensors
"""

from gankit.metrics.digit_classifier.network import (
    DigitClassifier,
    DigitNet,
    DigitNetConfig,
    ImageShapeError,
)
from gankit.metrics.digit_classifier.training import (
    TRAINING,
    TrainingSettings,
    held_out_accuracy,
    load_split,
    random_shift,
    train_classifier,
    training_settings,
)
from gankit.metrics.digit_classifier.weights_file import (
    FORMAT,
    SHA256,
    WEIGHTS,
    file_sha256,
    load_classifier_file,
    load_digit_classifier,
    save_classifier,
)

__all__ = ["FORMAT", "SHA256", "TRAINING", "WEIGHTS", "DigitClassifier", "DigitNet",
           "DigitNetConfig", "ImageShapeError", "TrainingSettings", "file_sha256",
           "held_out_accuracy", "load_classifier_file", "load_digit_classifier", "load_split",
           "random_shift", "save_classifier", "train_classifier", "training_settings"]
