# %% [markdown]
# # wasserstein
#
# (being written)
