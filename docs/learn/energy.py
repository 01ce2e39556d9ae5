# %% [markdown]
# # energy
#
# (being written)
