# The counts kept by the trigger of migration 0004, now by status too (for /metrics).

from django.db import migrations, models

# The need-person rule of Artifact.NEEDS_PERSON, in SQL.
NEEDS = "(CASE WHEN {row}.status = 'error' AND {row}.error_kind <> 'transient' THEN 1 ELSE 0 END)"
TRIGGER = f"""
CREATE OR REPLACE FUNCTION securitymaterial_count_artifacts() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.runtime = NEW.runtime AND OLD.kind = NEW.kind
     AND OLD.status = NEW.status AND {NEEDS.format(row="OLD")} = {NEEDS.format(row="NEW")} THEN
    RETURN NULL;  -- nothing a count depends on changed: no write, no lock
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE securitymaterial_artifactcount
    SET total = total - 1, need_person = need_person - {NEEDS.format(row="OLD")}
    WHERE runtime = OLD.runtime AND kind = OLD.kind AND status = OLD.status;
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    INSERT INTO securitymaterial_artifactcount (runtime, kind, status, total, need_person)
    VALUES (NEW.runtime, NEW.kind, NEW.status, 1, {NEEDS.format(row="NEW")})
    ON CONFLICT (runtime, kind, status) DO UPDATE
    SET total = securitymaterial_artifactcount.total + 1,
        need_person = securitymaterial_artifactcount.need_person + EXCLUDED.need_person;
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""
# Also run after bulk loads that bypass row triggers (TRUNCATE, COPY: bench/common.py).
RECOUNT = f"""
DELETE FROM securitymaterial_artifactcount;
INSERT INTO securitymaterial_artifactcount (runtime, kind, status, total, need_person)
SELECT runtime, kind, status, count(*), sum({NEEDS.format(row="a")})
FROM securitymaterial_artifact a GROUP BY runtime, kind, status;
"""


def install_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # The trigger (migration 0004) fires on the same columns; only its function changes.
        schema_editor.execute(TRIGGER)
        schema_editor.execute(RECOUNT)


def reinstall_per_type_trigger(apps, schema_editor):
    """Back to 0010: the function of 0004, once the table has its old shape again."""
    if schema_editor.connection.vendor == "postgresql":
        from importlib import import_module

        before = import_module("securitymaterial.migrations.0004_artifact_counts_and_list_indexes")
        schema_editor.execute(before.TRIGGER.split("CREATE TRIGGER")[0])
        schema_editor.execute(before.RECOUNT)


class Migration(migrations.Migration):

    dependencies = [
        ("securitymaterial", "0010_refresh_dispatch_rounds"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, reinstall_per_type_trigger),
        migrations.RemoveConstraint(model_name="artifactcount", name="one_count_per_type"),
        migrations.AddField(
            model_name="artifactcount",
            name="status",
            field=models.CharField(
                choices=[
                    ("stored", "Stored"),
                    ("deployed", "Deployed"),
                    ("error", "Error"),
                    ("unauthorized", "Unauthorized"),
                ],
                default="deployed",
                max_length=16,
            ),
            preserve_default=False,
        ),
        migrations.AddConstraint(
            model_name="artifactcount",
            constraint=models.UniqueConstraint(
                fields=("runtime", "kind", "status"), name="one_count_per_type_and_status"
            ),
        ),
        # Written only by the trigger, which must not run against the old function while the
        # table changes shape: both in this migration's transaction.
        migrations.RunPython(install_trigger, migrations.RunPython.noop),
    ]
