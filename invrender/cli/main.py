"""The ``invrender`` command: one thin Typer function per subcommand."""

import typer

from invrender.cli.check_grad import check_grad_command
from invrender.cli.grad_image import grad_image_command
from invrender.cli.optimize import optimize_command
from invrender.cli.params import params_command
from invrender.cli.render import render_command

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Physically based inverse rendering of Mitsuba 3 scenes.")
app.command("render")(render_command)
app.command("params")(params_command)
app.command("grad-image")(grad_image_command)
app.command("check-grad")(check_grad_command)
app.command("optimize")(optimize_command)

if __name__ == "__main__":
    app()
