# %% [markdown]
# # image-to-image
#
# (being written)
