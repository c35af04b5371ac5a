"""Networks of the ageing toolchain: the conditional U-Net generator, the PatchGAN discriminator and the age
estimator. Shared by training, export and evaluation so that every step builds the same graph."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

AGE_SCALE = 0.01  # the age condition fed to the networks is years * AGE_SCALE


def norm(channels: int) -> nn.Module:
    # GroupNorm behaves the same for batch 1 at inference and batch 16 in training (BatchNorm would not).
    return nn.GroupNorm(min(8, channels // 4), channels)


class ConvBlock(nn.Module):
    def __init__(self, cin: int, cout: int, use_norm: bool = True):
        super().__init__()
        layer_norm = norm if use_norm else (lambda c: nn.Identity())
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1), layer_norm(cout), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1), layer_norm(cout), nn.LeakyReLU(0.2, inplace=True),
        )

    def forward(self, x):
        return self.body(x)


class AgeUNet(nn.Module):
    """U-Net generator conditioned on the target age.

    Input: RGB in [-1, 1] (N,3,H,W) and target age (N,1) as years * AGE_SCALE. The age is broadcast as a constant
    plane and concatenated at the input and at every decoder level, so every scale sees the condition.
    Output: an RGB residual (N,3,H,W) in [-2, 2]; the aged image is clamp(input + residual, -1, 1). Predicting a
    residual (as FRAN does) keeps identity and detail by construction, and lets the pipeline compute the residual
    at model resolution and add it to the full-resolution image.

    Upsampling is bilinear + 3×3 convolution rather than ConvTranspose2d: free of checkerboard artefacts and far
    faster on the CPU torch build used for training here. The generator has no normalisation layers: a
    normalisation over space subtracts exactly the constant age planes that carry the condition. The output
    convolution starts at zero, so training starts from the identity and can only improve on it.
    """

    def __init__(self, base: int = 32, depth: int = 4):
        super().__init__()
        chans = [base * 2 ** i for i in range(depth + 1)]
        self.stem = ConvBlock(3 + 1, chans[0], use_norm=False)
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv2d(chans[i] + 1, chans[i], 3, stride=2, padding=1),
                          ConvBlock(chans[i], chans[i + 1], use_norm=False))
            for i in range(depth))
        self.up = nn.ModuleList(
            ConvBlock(chans[i + 1] + chans[i] + 1, chans[i], use_norm=False) for i in reversed(range(depth)))
        self.head = nn.Conv2d(chans[0], 3, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.depth = depth

    def forward(self, image: torch.Tensor, target_age: torch.Tensor) -> torch.Tensor:
        n, _, h, w = image.shape
        age = target_age.view(n, 1, 1, 1)
        x = self.stem(torch.cat([image, age.expand(n, 1, h, w)], 1))
        skips = [x]
        for d in self.down:
            x = d(torch.cat([x, age.expand(n, 1, x.shape[2], x.shape[3])], 1))
            skips.append(x)
        skips.pop()
        for u in self.up:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = u(torch.cat([x, skip, age.expand(n, 1, skip.shape[2], skip.shape[3])], 1))
        return 2.0 * torch.tanh(self.head(x) * 0.5)


class PatchDiscriminator(nn.Module):
    """PatchGAN (70×70-style at 128²) conditioned on the source image and the target age: it sees
    (source, candidate, age plane) and scores each patch as a real or generated rendering of that age."""

    def __init__(self, base: int = 32):
        super().__init__()

        def block(cin, cout, stride, use_norm=True):
            layers = [nn.Conv2d(cin, cout, 4, stride=stride, padding=1)]
            if use_norm:
                layers.append(norm(cout))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return layers

        self.body = nn.Sequential(
            *block(3 + 3 + 1, base, 2, use_norm=False),
            *block(base, base * 2, 2),
            *block(base * 2, base * 4, 2),
            *block(base * 4, base * 4, 1),
            nn.Conv2d(base * 4, 1, 4, stride=1, padding=1),
        )

    def forward(self, source, candidate, target_age):
        n, _, h, w = source.shape
        return self.body(torch.cat([source, candidate, target_age.view(n, 1, 1, 1).expand(n, 1, h, w)], 1))


class AgeEstimator(nn.Module):
    """Small CNN regressor: RGB in [-1, 1] (N,3,128,128) → age in years (N,1)."""

    def __init__(self, base: int = 24):
        super().__init__()
        layers = []
        cin = 3
        for i in range(5):
            cout = base * 2 ** min(i, 3)
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), norm(cout), nn.ReLU(inplace=True),
                       nn.Conv2d(cout, cout, 3, padding=1), norm(cout), nn.ReLU(inplace=True)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(cin, 64), nn.ReLU(inplace=True), nn.Linear(64, 1))

    def forward(self, image):
        x = self.features(image)
        x = x.mean(dim=(2, 3))
        # The head predicts years / 100; the graph returns years so that consumers need no scale.
        return self.head(x) * 100.0
