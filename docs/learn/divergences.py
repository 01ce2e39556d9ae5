# %% [markdown]
# # divergences
#
# (being written)
