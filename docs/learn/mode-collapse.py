# %% [markdown]
# # mode-collapse
#
# (being written)
