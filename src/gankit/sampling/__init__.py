"""Where a generator's latents come from beyond its prior: latent energies from G and D (DDLS)
or U (MEG), Langevin and MALA chains over them, the truncation trick, and the registry of latent
samplers that ``--sampler`` chooses from.

- ``energies``: E(z) from the networks (:func:`~gankit.sampling.energies.meg_energy`, DDLS);
- ``mcmc``: Langevin, MALA and the truncated normal, on tensors, owning no models;
- ``sources``: those as latent sources (``draw(n, generator)``) for a recipe;
- ``settings``: :data:`SAMPLERS` and :class:`SamplerSettings` (read by the CLI without torch);
- ``samplers``: one module per registered sampler (prior, truncation, langevin and mala);
- ``paths``: MALA chains decoded step by step, for the 2-D pictures.

Kept free of imports so that the CLI reads the samplers' declarations without loading torch.
"""
