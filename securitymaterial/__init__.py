"""The artifact catalogue: models, encrypted field, audit, forms, list/detail/add/edit
pages."""
