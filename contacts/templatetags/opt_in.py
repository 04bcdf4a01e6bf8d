from django import template

from contacts import display

register = template.Library()
register.filter("channel_icons", display.channel_icons)
