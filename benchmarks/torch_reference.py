"""PyTorch CPU implementations of keras_gvae's built-in networks and losses, for timing only.

Kept in benchmarks/ (torch is never a dependency of keras_gvae). The layers mirror
keras_gvae.models.backbones (28x28: conv 64 k6 s2, 128 k5, 256 k5 and the mirrored
decoder; /16: conv 32, 32, 64, 64 k4 s2 "same", conv 256 to 1x1 and the mirror), NCHW. The
losses: Bernoulli negative log-likelihood summed over pixels + KL, batch means; GuidedVAE
adds the sub-decoder (sigmoid(z_cont @ B + b), per-unit 1-16-1 tanh maps, an affine warp by
``F.affine_grid``/``F.grid_sample``, bilinear, zeros outside) with weight 0.5 and the
orthogonality penalty; SupervisedGuidedVAE runs the three phases (VAE + excitation, the
adversaries on detached codes, encoder inhibition with the ELBO anchor), each with its own
Adam, excitation/inhibition weight 200.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def backbone(shape, latent_dim):
    h, w, c = shape
    if (h, w) == (28, 28):
        enc = nn.Sequential(
            nn.Conv2d(c, 64, 6, 2),
            nn.ReLU(),
            nn.Conv2d(64, 128, 5),
            nn.ReLU(),
            nn.Conv2d(128, 256, 5),
            nn.ReLU(),
            nn.Flatten(),
        )
        features = 4 * 4 * 256
        dec = nn.Sequential(
            nn.Linear(latent_dim, features),
            nn.ReLU(),
            nn.Unflatten(1, (256, 4, 4)),
            nn.ConvTranspose2d(256, 128, 5),
            nn.ReLU(),
            nn.ConvTranspose2d(128, 64, 5),
            nn.ReLU(),
            nn.ConvTranspose2d(64, c, 6, 2),
        )
        return enc, dec, features
    layers, cin = [], c
    for f in (32, 32, 64, 64):
        layers += [nn.Conv2d(cin, f, 4, 2, padding=1), nn.ReLU()]
        cin = f
    enc = nn.Sequential(*layers, nn.Conv2d(64, 256, (h // 16, w // 16)), nn.ReLU(), nn.Flatten())
    layers = [
        nn.Linear(latent_dim, 256),
        nn.ReLU(),
        nn.Unflatten(1, (256, 1, 1)),
        nn.ConvTranspose2d(256, 64, (h // 16, w // 16)),
        nn.ReLU(),
    ]
    cin = 64
    for f in (64, 32, 32):
        layers += [nn.ConvTranspose2d(cin, f, 4, 2, padding=1), nn.ReLU()]
        cin = f
    dec = nn.Sequential(*layers, nn.ConvTranspose2d(32, c, 4, 2, padding=1))
    return enc, dec, 256


def classifier(d, hidden=(32, 32)):
    layers = []
    for units in hidden:
        layers += [nn.Linear(d, units), nn.BatchNorm1d(units, momentum=0.1), nn.LeakyReLU(0.2)]
        d = units
    return nn.Sequential(*layers, nn.Linear(d, 1), nn.Flatten(0))


class VAE(nn.Module):
    def __init__(self, shape, latent_dim):
        super().__init__()
        self.shape, self.latent_dim = shape, latent_dim
        self.encoder, self.decoder, features = backbone(shape, latent_dim)
        self.z_mean, self.z_log_var = (
            nn.Linear(features, latent_dim),
            nn.Linear(features, latent_dim),
        )

    def encode(self, x):
        f = self.encoder(x)
        return self.z_mean(f), self.z_log_var(f)

    def elbo(self, x, z, mean, log_var):
        rec = F.binary_cross_entropy_with_logits(self.decoder(z), x, reduction="sum") / len(x)
        kl = 0.5 * torch.sum(mean**2 + log_var.exp() - 1 - log_var) / len(x)
        return rec + kl

    def loss(self, x):
        mean, log_var = self.encode(x)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        return self.elbo(x, z, mean, log_var), z, mean


class GuidedVAE(VAE):
    num_def, hidden = 5, 16

    def __init__(self, shape, latent_dim):
        super().__init__(shape, latent_dim)
        pixels = int(np.prod(shape))
        self.basis = nn.Parameter(torch.randn(latent_dim - self.num_def, pixels) * 0.05)
        self.basis_bias = nn.Parameter(torch.zeros(pixels))
        self.map_in = nn.Parameter(torch.randn(self.num_def, self.hidden))
        self.map_in_bias = nn.Parameter(torch.randn(self.num_def, self.hidden) * 0.5)
        self.map_out = nn.Parameter(
            torch.randn(self.num_def, self.hidden) * 0.3 / math.sqrt(self.hidden)
        )
        self.map_out_bias = nn.Parameter(torch.zeros(self.num_def))

    def sub_decode(self, z):
        h, w, c = self.shape
        z_def, z_cont = z[:, : self.num_def], z[:, self.num_def :]
        content = torch.sigmoid(z_cont @ self.basis + self.basis_bias)
        content = content.view(-1, h, w, c).permute(0, 3, 1, 2)
        p = (torch.tanh(z_def[:, :, None] * self.map_in + self.map_in_bias) * self.map_out).sum(-1)
        p = p + self.map_out_bias
        ls = math.log(4.0)
        sx, sy = torch.exp(ls * torch.tanh(p[:, 0] / ls)), torch.exp(ls * torch.tanh(p[:, 1] / ls))
        cos, sin = torch.cos(p[:, 2]), torch.sin(p[:, 2])
        tx, ty = 1.5 * torch.tanh(p[:, 3] / 1.5), 1.5 * torch.tanh(p[:, 4] / 1.5)
        a00, a01, a10, a11 = cos / sx, -sin / sx, sin / sy, cos / sy
        theta = torch.stack(
            [
                torch.stack([a00, a01, -(a00 * tx + a01 * ty)], -1),
                torch.stack([a10, a11, -(a10 * tx + a11 * ty)], -1),
            ],
            1,
        )
        grid = F.affine_grid(theta, content.shape, align_corners=True)
        return F.grid_sample(
            content, grid, mode="bilinear", padding_mode="zeros", align_corners=True
        )

    def loss(self, x):
        elbo, z, mean = super().loss(x)
        sub = F.binary_cross_entropy(self.sub_decode(z).clamp(1e-6, 1 - 1e-6), x, reduction="sum")
        gram = self.basis @ self.basis.T
        orth = (gram - torch.diag(torch.diagonal(gram))).abs().sum()
        return elbo + 0.5 * sub / len(x) + orth, z, mean


class SupervisedGuidedVAE(VAE):
    def __init__(self, shape, latent_dim, num_attributes=2):
        super().__init__(shape, latent_dim)
        self.heads = nn.ModuleList(classifier(1) for _ in range(num_attributes))
        self.adversaries = nn.ModuleList(classifier(latent_dim - 1) for _ in range(num_attributes))

    def rest(self, z, k):
        return torch.cat([z[:, :k], z[:, k + 1 :]], 1)

    def adversary_logits(self, z):
        return torch.stack([a(self.rest(z, k)) for k, a in enumerate(self.adversaries)], 1)


def make_step(kind, shape, latent_dim, x, y):
    """A closure running one training step on the batch ``x`` (NHWC numpy), returning the loss."""
    torch.manual_seed(0)
    xt = torch.from_numpy(np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2))))
    yt = torch.from_numpy(y)
    if kind in ("vae", "guided"):
        model = (VAE if kind == "vae" else GuidedVAE)(shape, latent_dim)
        opt = torch.optim.Adam(model.parameters(), 5e-4)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = model.loss(xt)[0]
            loss.backward()
            opt.step()
            return float(loss.detach())

        return step
    model = SupervisedGuidedVAE(shape, latent_dim, y.shape[1])
    adversary = list(model.adversaries.parameters())
    adv_ids = {id(p) for p in adversary}
    vae_params = [p for p in model.parameters() if id(p) not in adv_ids]
    enc_params = [
        *model.encoder.parameters(),
        *model.z_mean.parameters(),
        *model.z_log_var.parameters(),
    ]
    opts = [torch.optim.Adam(ps, 5e-4) for ps in (vae_params, adversary, enc_params)]

    def step():
        for o in opts:
            o.zero_grad(set_to_none=True)
        elbo, z, mean = model.loss(xt)
        logits = torch.stack([h(z[:, k : k + 1]) for k, h in enumerate(model.heads)], 1)
        excitation = F.binary_cross_entropy_with_logits(logits, yt, reduction="sum") / len(xt)
        loss = elbo + 200 * excitation
        loss.backward()
        opts[0].step()
        adv = F.binary_cross_entropy_with_logits(
            model.adversary_logits(z.detach()), yt, reduction="sum"
        ) / len(xt)
        adv.backward()
        opts[1].step()
        opts[2].zero_grad(set_to_none=True)
        mean, log_var = model.encode(xt)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        inhibition = F.binary_cross_entropy_with_logits(
            model.adversary_logits(z), torch.full_like(yt, 0.5), reduction="sum"
        ) / len(xt)
        (200 * inhibition + model.elbo(xt, z, mean, log_var)).backward()
        opts[2].step()
        return float(loss.detach())

    return step
