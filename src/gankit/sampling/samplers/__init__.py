"""The registered latent samplers, one module each (:data:`gankit.sampling.settings.SAMPLERS`
imports them all before its first lookup)."""
