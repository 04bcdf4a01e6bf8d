from django import template

from contacts import display

register = template.Library()
register.filter("opt_in_icons", display.opt_in_icons)
