# %% [markdown]
# # conditional
#
# (being written)
